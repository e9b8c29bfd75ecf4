"""The demo zoo: a synthetic language, its tasks, and tiny models built from it."""
