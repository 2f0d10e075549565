"""Versioned router artifacts: a registry directory, and which version serves each route."""
