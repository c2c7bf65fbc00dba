"""Stage 2: find every definition problem — shape first, then references, graphs and routing."""
