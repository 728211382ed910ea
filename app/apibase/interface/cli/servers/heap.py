"""A serving process's garbage collector, tuned once the application has started.

The reference service starts with about 230,000 tracked objects (routes, models, SQLAlchemy metadata, the
OpenTelemetry and logging set-up) that live as long as the process. CPython's collector walks all of them in every
full collection — about 140 ms on the development machine, during which no request moves — and a service under
load triggers one every few seconds, while the young collections run every 700 allocations, a few times per
request. Once start-up is over, each worker therefore collects once, moves what survived to the permanent
generation (:func:`gc.freeze`: never walked again, never freed, as it would not be anyway) and collects the young
generation every :data:`YOUNG_THRESHOLD` allocations. Under ``bench/http_bench.py`` this took the time the service's
collector ran from ~5.8 s to ~1.4 s over the same minute of load.

It is done by the serving command only (``apibase serve``, under each server and in every worker), never by
:func:`~apibase.main.create_app`: a test process builds hundreds of applications, and freezing them would keep
every one alive. ``APIBASE_GC_FREEZE=false`` turns it off.
"""

from __future__ import annotations

import gc
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["YOUNG_THRESHOLD", "FrozenStartupHeap", "freeze_startup_heap"]

#: Allocations between two collections of the youngest generation (CPython's default is 700).
YOUNG_THRESHOLD: Final = 7_000
#: Young collections between two of the middle generation, and middle ones between two full ones (default 10, 10).
OLDER_THRESHOLDS: Final = (20, 20)


def freeze_startup_heap() -> None:
    """Collect what start-up left behind, freeze the rest, collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


class FrozenStartupHeap:
    """ASGI wrapper: :func:`freeze_startup_heap` right before the server hears that start-up completed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_frozen(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                freeze_startup_heap()
            await send(message)

        await self.app(scope, receive, send_frozen)
