"""Models: their files, architecture facts, safe loading, batching and devices."""
