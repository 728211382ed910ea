"""A tiny application for ``test_metrics_multiprocess.py``, served by a real uvicorn with several workers.

``uvicorn --factory --app-dir <this folder> metrics_workers_app:create_app`` calls ``create_app`` once per worker.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.infrastructure.observability.metrics import Metrics
from apibase.interface.http.metrics import metrics_router
from apibase.interface.http.middleware.metrics import MetricsMiddleware

POOL_SIZE = 3


def create_app() -> FastAPI:
    metrics = Metrics()
    engine = create_async_engine(f"sqlite+aiosqlite:///{os.environ['METRICS_TEST_DATABASE']}", pool_size=POOL_SIZE)
    metrics.track_database(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()
        metrics.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    async def ping() -> dict[str, int]:
        await asyncio.sleep(0.005)  # long enough for concurrent connections to land on both workers
        return {"pid": os.getpid()}

    app.include_router(metrics_router(metrics))
    app.add_middleware(MetricsMiddleware, metrics=metrics, exclude_paths=("/metrics",))
    return app
