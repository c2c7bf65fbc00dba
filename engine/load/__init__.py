"""Stage 1: read YAML text into plain values with a source map beside them."""

from engine.load.yaml_source import Document, load_document, load_text

__all__ = ["Document", "load_document", "load_text"]
