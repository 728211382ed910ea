"""API Base."""
