"""A stand-in Dapr sidecar for tests (daprd cannot run everywhere): the SDK's gRPC API on the real Redis.

Needs the ``dapr`` extra (the SDK's generated protos) and a Redis. See ``sidecar.DaprStandIn``.
"""

from apibase.testing.dapr_sidecar.delivery import DeliveryLog, DeliveryRecord
from apibase.testing.dapr_sidecar.sidecar import DaprStandIn

__all__ = ["DaprStandIn", "DeliveryLog", "DeliveryRecord"]
