"""Business counters fed from domain events, service outcomes and login results."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.application.ports.service import Service
from apibase.core.errors import AnyAppError, ConflictError
from apibase.core.result import Err, Ok, Result
from apibase.domain.specification import Specification, field
from apibase.infrastructure.observability.business_metrics import (
    CreationCountingService,
    observe_login,
)
from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.security.tokens.errors import InvalidCredentials

pytestmark = pytest.mark.unit


def counter(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    body, _ = metrics.render(None)
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == name
    }


class FakeProducts:
    """A ``Service`` that answers from fixed results and records how it was called."""

    def __init__(self, created: Result[str, AnyAppError]) -> None:
        self.created = created
        self.calls: list[tuple[str, object]] = []

    async def create(self, data: str, *, actor: str | None = None) -> Result[str, AnyAppError]:
        self.calls.append(("create", (data, actor)))
        return self.created

    async def get(self, entity_id: int) -> Result[str, AnyAppError]:
        self.calls.append(("get", entity_id))
        return Ok("got")

    async def list(
        self,
        *,
        where: Specification[str] | None = None,
        sort: list[SortField] | tuple[SortField, ...] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> Result[Page[str], AnyAppError]:
        self.calls.append(("list", (where, tuple(sort), offset, limit, count)))
        return Ok(Page(["a"], offset, limit, 1, False))

    async def list_by_cursor(
        self,
        *,
        where: Specification[str] | None = None,
        sort: list[SortField] | tuple[SortField, ...] = (),
        cursor: str | None = None,
        limit: int = 50,
    ) -> Result[CursorPage[str, str], AnyAppError]:
        self.calls.append(("list_by_cursor", (where, tuple(sort), cursor, limit)))
        return Ok(CursorPage(["a"], limit, None))

    async def update(
        self, entity_id: int, data: str, *, expected_version: int | None = None, actor: str | None = None
    ) -> Result[str, AnyAppError]:
        self.calls.append(("update", (entity_id, data, expected_version, actor)))
        return Ok("updated")

    async def delete(self, entity_id: int, *, actor: str | None = None) -> Result[None, AnyAppError]:
        self.calls.append(("delete", (entity_id, actor)))
        return Ok(None)


def counting(inner: FakeProducts, count: Callable[[], None]) -> Service[str, str, str, str, int]:
    service: Service[str, str, str, str, int] = CreationCountingService(inner, count)
    return service


async def test_products_created_counts_only_successful_creates() -> None:
    metrics = Metrics()
    created = metrics.counter("products_created", "Products created")
    succeeding = counting(FakeProducts(Ok("p-1")), created)
    failing = counting(FakeProducts(Err(ConflictError("sku taken"))), created)

    assert await succeeding.create("p", actor="alice") == Ok("p-1")
    assert isinstance(await failing.create("p"), Err)
    assert counter(metrics, "products_created_total") == {(): 1}


async def test_every_other_use_case_is_delegated_unchanged() -> None:
    inner, metrics = FakeProducts(Ok("p-1")), Metrics()
    service = counting(inner, metrics.counter("products_created", "Products created"))
    where: Specification[str] = field("name").eq("x")
    sort = (SortField("name", descending=True),)

    assert await service.get(7) == Ok("got")
    assert (await service.list(where=where, sort=sort, offset=5, limit=2, count=CountStrategy.NONE)).is_ok()
    assert (await service.list_by_cursor(where=where, sort=sort, cursor="c", limit=3)).is_ok()
    assert await service.update(7, "new", expected_version=2, actor="bob") == Ok("updated")
    assert await service.delete(7, actor="bob") == Ok(None)

    assert inner.calls == [
        ("get", 7),
        ("list", (where, sort, 5, 2, CountStrategy.NONE)),
        ("list_by_cursor", (where, sort, "c", 3)),
        ("update", (7, "new", 2, "bob")),
        ("delete", (7, "bob")),
    ]
    assert counter(metrics, "products_created_total") == {(): 0}


def test_refused_logins_are_counted_by_error_code() -> None:
    metrics = Metrics()
    observe_login(metrics, Err(InvalidCredentials("wrong")))
    observe_login(metrics, Err(InvalidCredentials("wrong")))
    observe_login(metrics, Ok("tokens"))

    assert counter(metrics, "login_failures_total") == {(("reason", "auth.invalid_credentials"),): 2}
