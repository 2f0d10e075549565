"""The records store: what the gateway served, and what was learned about each answer."""
