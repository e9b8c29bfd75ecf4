"""`make bench`: measured cost of the workflow's stages on this machine (see BENCHMARKS.md)."""
