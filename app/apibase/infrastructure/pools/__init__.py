"""Connection pools for every external service: one pooled client each, sized by ``PoolSettings``, in metrics."""

from apibase.infrastructure.pools.connection_pools import LOG_SHIPPING, OUTBOUND, ConnectionPools
from apibase.infrastructure.pools.metrics import report_pools
from apibase.infrastructure.pools.status import PoolStatus

__all__ = ["LOG_SHIPPING", "OUTBOUND", "ConnectionPools", "PoolStatus", "report_pools"]
