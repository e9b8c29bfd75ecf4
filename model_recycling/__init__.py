"""Model recycling: find the finetuned models that are better starting points than their base."""
