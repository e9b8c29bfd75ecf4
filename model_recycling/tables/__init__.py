"""Stage 5a, tables: cells and probes validated and aggregated into tables per architecture."""
