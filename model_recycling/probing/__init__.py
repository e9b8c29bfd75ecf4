"""Stages 2 and 3, probing and selecting: features, the linear probe and the other proxies, the
top-k."""
