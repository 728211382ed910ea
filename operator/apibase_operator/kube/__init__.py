"""Talking to the Kubernetes API: kinds the operator manages, server-side apply, and no-op detection."""
