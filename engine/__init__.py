"""Tsonkh: YAML service definitions → loaded → checked → compiled → run (see the sub-packages)."""
