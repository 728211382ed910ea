"""``GET /metrics``: the Prometheus scrape endpoint, in the format the scraper asks for.

Prometheus asks for ``application/openmetrics-text`` when it wants exemplars (trace ids on latency buckets);
anything else gets the classic text format. The route is left out of the OpenAPI document: it is for the
scraper, not for API clients. Where the API is public, keep the path off the public ingress (or scrape a
separate port): counts per route reveal traffic.

Public API: ``metrics_router(metrics, path="/metrics") -> APIRouter``.
"""

from fastapi import APIRouter, Request, Response

from apibase.infrastructure.observability.metrics import Metrics

__all__ = ["metrics_router"]


def metrics_router(metrics: Metrics, path: str = "/metrics") -> APIRouter:
    router = APIRouter()

    @router.get(path, include_in_schema=False)
    async def scrape(request: Request) -> Response:
        body, content_type = metrics.render(request.headers.get("accept"))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return router
