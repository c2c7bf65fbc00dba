"""The state data exchange (ХУР / XYP): registry adapters, the embedded local registry and the prefill flow."""
