"""Adapters of the Dapr sidecar's building blocks: one shared client, the state store, the secret store.

Everything here needs the ``dapr`` extra (the official SDK); the factories import these modules only when a Dapr
backend is selected in settings. The pubsub publisher is ``apibase.infrastructure.events.transports.dapr``.
"""

__all__: list[str] = []
