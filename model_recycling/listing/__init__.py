"""Stage 1, listing candidates: the candidates.tsv record, a local folder or the Hub as source."""
