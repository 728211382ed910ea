"""GenericService: CRUD use cases as Results, hooks, caching and post-commit event publishing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import (
    InMemoryEventPublisher,
    InMemoryRepository,
    InMemoryStore,
    InMemoryUnitOfWork,
)
from apibase.application.mapper import GenericMapper
from apibase.application.pagination import CountStrategy, SortField
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.application.service import GenericService
from apibase.core.errors import (
    AnyAppError,
    ConcurrencyConflict,
    DependencyUnavailable,
    ForbiddenError,
    NotFoundError,
)
from apibase.core.result import Err, Ok, Result
from apibase.domain.events import DomainEvent
from apibase.domain.specification import field
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetRenamed, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


class WidgetOut(BaseModel):
    id: uuid.UUID
    name: str
    price: Decimal
    version: int


@dataclass
class WidgetRow:
    id: uuid.UUID
    name: str
    price: Decimal
    quantity: int
    category: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Widgets(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


def renamed_on_creation(data: WidgetCreate) -> Widget:
    widget = new_widget(data)
    widget.rename(data.name.upper())
    return widget


type WidgetResult = Result[WidgetOut, AnyAppError]


class RecordingService(GenericService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID]):
    resource_name = "widget"

    def __init__(self, repository: Widgets, **options: object) -> None:
        self.calls: list[str] = []
        self.refuse: set[str] = set()
        self.explode_after_create = False
        super().__init__(
            unit_of_work=lambda: InMemoryUnitOfWork(repository),
            repository=lambda uow: repository,
            mapper=GenericMapper(entity=Widget, model=WidgetRow, response=WidgetOut),
            **options,  # type: ignore[arg-type]
        )

    def _refused(self, hook: str) -> Err[AnyAppError]:
        return Err(ForbiddenError(f"{hook} refused"))

    async def pre_create(self, data: WidgetCreate, actor: str | None) -> Result[WidgetCreate, AnyAppError]:
        self.calls.append(f"pre_create:{actor}")
        return self._refused("create") if "create" in self.refuse else Ok(data)

    async def post_create(self, entity: Widget, actor: str | None) -> None:
        self.calls.append("post_create")
        if self.explode_after_create:
            raise RuntimeError("post_create failed")

    async def pre_update(
        self, entity_id: uuid.UUID, data: WidgetUpdate, actor: str | None
    ) -> Result[WidgetUpdate, AnyAppError]:
        self.calls.append("pre_update")
        return self._refused("update") if "update" in self.refuse else Ok(data)

    async def post_update(self, entity: Widget, actor: str | None) -> None:
        self.calls.append("post_update")

    async def pre_delete(self, entity_id: uuid.UUID, actor: str | None) -> Result[None, AnyAppError]:
        self.calls.append("pre_delete")
        return self._refused("delete") if "delete" in self.refuse else Ok(None)

    async def post_delete(self, entity_id: uuid.UUID, actor: str | None) -> None:
        self.calls.append("post_delete")


@pytest.fixture
def repository() -> Widgets:
    return Widgets(Widget, renamed_on_creation, cursor_codec=CursorCodec("service-test-secret!"))


@pytest.fixture
def publisher() -> InMemoryEventPublisher:
    return InMemoryEventPublisher()


@pytest.fixture
def cache() -> InMemoryStore[str, WidgetOut]:
    return InMemoryStore()


@pytest.fixture
def service(
    repository: Widgets, publisher: InMemoryEventPublisher, cache: InMemoryStore[str, WidgetOut]
) -> RecordingService:
    return RecordingService(repository, publisher=publisher, cache=cache)


def widget(name: str = "gear", price: str = "2.50") -> WidgetCreate:
    return WidgetCreate(name=name, price=Decimal(price), quantity=1)


def ok[T](result: Result[T, AnyAppError]) -> T:
    assert isinstance(result, Ok), result
    return result.value


def err(result: Result[object, AnyAppError]) -> AnyAppError:
    assert isinstance(result, Err), result
    return result.error


async def test_create_returns_the_response_runs_hooks_and_publishes_after_commit(
    service: RecordingService, publisher: InMemoryEventPublisher
) -> None:
    created = ok(await service.create(widget("gear"), actor="ann"))
    assert (created.name, created.price, created.version) == ("GEAR", Decimal("2.50"), 1)
    assert service.calls == ["pre_create:ann", "post_create"]
    assert [type(event) for event in publisher.published] == [WidgetRenamed]


class RecordingOutbox:
    """Stores what it is given while the unit of work is still open; ``fail`` refuses the store."""

    def __init__(self, *, fail: Exception | None = None) -> None:
        self.steps: list[str] = []
        self.stored: list[DomainEvent] = []
        self.fail = fail

    async def store(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        if self.fail is not None:
            raise self.fail
        self.steps.append(f"store {len(events)}")
        self.stored.extend(events)

    def committed(self) -> None:
        self.steps.append("committed")


async def test_each_write_stores_its_events_in_the_outbox_before_the_commit(repository: Widgets) -> None:
    outbox = RecordingOutbox()
    service = RecordingService(repository, outbox=outbox)

    created = ok(await service.create(widget("gear")))
    ok(await service.update(created.id, WidgetUpdate(name="cog"), expected_version=created.version))
    ok(await service.delete(created.id))

    assert [type(event) for event in outbox.stored] == [WidgetRenamed, WidgetRenamed]
    assert outbox.steps == ["store 1", "committed", "store 1", "committed"]  # the delete raised no event


async def test_a_failing_outbox_store_keeps_the_write_out(repository: Widgets) -> None:
    service = RecordingService(repository, outbox=RecordingOutbox(fail=DependencyUnavailable("outbox down")))

    error = err(await service.create(widget()))

    assert isinstance(error, DependencyUnavailable)
    assert await repository.count() == 0


async def test_a_refused_create_stores_nothing(service: RecordingService, repository: Widgets) -> None:
    service.refuse.add("create")
    error = err(await service.create(widget()))
    assert isinstance(error, ForbiddenError)
    assert error.status == 403
    assert await repository.count() == 0


async def test_a_failing_post_hook_rolls_back_and_publishes_nothing(
    service: RecordingService, repository: Widgets, publisher: InMemoryEventPublisher
) -> None:
    service.explode_after_create = True
    with pytest.raises(RuntimeError, match="post_create failed"):
        await service.create(widget())
    assert await repository.count() == 0
    assert publisher.published == []


async def test_get_maps_and_caches_and_missing_is_not_found(
    service: RecordingService, cache: InMemoryStore[str, WidgetOut]
) -> None:
    created = ok(await service.create(widget()))
    assert ok(await service.get(created.id)) == created
    assert await cache.get(f"widget:{created.id}") == created
    error = err(await service.get(uuid.uuid4()))
    assert isinstance(error, NotFoundError)
    assert error.status == 404


async def test_cached_reads_do_not_touch_the_repository(service: RecordingService, repository: Widgets) -> None:
    created = ok(await service.create(widget()))
    ok(await service.get(created.id))
    assert await repository.delete(created.id, hard=True)
    assert ok(await service.get(created.id)) == created


async def test_service_without_cache_always_reads_the_repository(repository: Widgets) -> None:
    service = RecordingService(repository)
    created = ok(await service.create(widget()))
    assert await repository.delete(created.id, hard=True)
    assert isinstance(err(await service.get(created.id)), NotFoundError)


async def test_update_applies_changes_invalidates_the_cache_and_checks_versions(
    service: RecordingService, cache: InMemoryStore[str, WidgetOut]
) -> None:
    created = ok(await service.create(widget()))
    ok(await service.get(created.id))
    updated = ok(await service.update(created.id, WidgetUpdate(price=Decimal("9.00")), expected_version=1))
    assert (updated.price, updated.version) == (Decimal("9.00"), 2)
    assert service.calls[-2:] == ["pre_update", "post_update"]
    assert await cache.get(f"widget:{created.id}") is None
    assert ok(await service.get(created.id)) == updated
    stale = err(await service.update(created.id, WidgetUpdate(name="lost"), expected_version=1))
    assert isinstance(stale, ConcurrencyConflict)
    assert stale.status == 409
    assert service.calls[-1] == "pre_update"


async def test_refused_update_and_delete_change_nothing(service: RecordingService) -> None:
    created = ok(await service.create(widget("keep")))
    service.refuse |= {"update", "delete"}
    assert isinstance(err(await service.update(created.id, WidgetUpdate(name="x"))), ForbiddenError)
    assert isinstance(err(await service.delete(created.id)), ForbiddenError)
    assert ok(await service.get(created.id)).name == "KEEP"


async def test_delete_then_get_is_not_found_and_delete_again_is_not_found(service: RecordingService) -> None:
    created = ok(await service.create(widget()))
    assert ok(await service.delete(created.id, actor="ann")) is None
    assert service.calls[-2:] == ["pre_delete", "post_delete"]
    assert isinstance(err(await service.get(created.id)), NotFoundError)
    assert isinstance(err(await service.delete(created.id)), NotFoundError)


async def test_list_pages_filters_and_sorts_responses(service: RecordingService) -> None:
    for name, price in [("a", "3.00"), ("b", "1.00"), ("c", "2.00")]:
        ok(await service.create(widget(name, price)))
    page = ok(await service.list(sort=[SortField("price")], limit=2))
    assert [item.name for item in page.items] == ["B", "C"]
    assert all(isinstance(item, WidgetOut) for item in page.items)
    assert (page.total, page.has_next) == (3, True)
    cheap = ok(await service.list(where=field("price").lt(Decimal("2.50")), count=CountStrategy.NONE))
    assert {item.name for item in cheap.items} == {"B", "C"}
    assert cheap.total is None


async def test_list_by_cursor_walks_every_item_once(service: RecordingService) -> None:
    for index in range(5):
        ok(await service.create(widget(f"w{index}")))
    names: list[str] = []
    cursor: str | None = None
    while True:
        page = ok(await service.list_by_cursor(sort=[SortField("name")], cursor=cursor, limit=2))
        names.extend(item.name for item in page.items)
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert names == [f"W{index}" for index in range(5)]


async def test_invalid_input_to_reads_is_an_err_not_an_exception(service: RecordingService) -> None:
    assert err(await service.list(sort=[SortField("nope")])).status == 422
    assert err(await service.list_by_cursor(cursor="forged.cursor")).status == 400


async def test_infrastructure_failures_become_errs(repository: Widgets) -> None:
    class Unavailable(Widgets):
        async def get_by_id(self, entity_id: uuid.UUID, *, include_deleted: bool = False) -> Widget | None:
            raise DependencyUnavailable("database is down")

    down = Unavailable(Widget, new_widget, cursor_codec=CursorCodec("service-test-secret!"))

    def unit() -> UnitOfWork:
        return InMemoryUnitOfWork(down)

    service = GenericService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID](
        unit_of_work=unit,
        repository=lambda uow: down,
        mapper=GenericMapper(entity=Widget, model=WidgetRow, response=WidgetOut),
    )
    error = err(await service.get(uuid.uuid4()))
    assert isinstance(error, DependencyUnavailable)
    assert error.status == 503


async def test_reads_run_in_read_units_and_writes_in_the_others(repository: Widgets) -> None:
    opened: list[str] = []

    def unit(kind: str) -> Callable[[], InMemoryUnitOfWork]:
        def open_unit() -> InMemoryUnitOfWork:
            opened.append(kind)
            return InMemoryUnitOfWork(repository)

        return open_unit

    reads = RecordingService(repository, read_unit_of_work=unit("read"))
    reads._unit_of_work = unit("write")  # the writes' factory, recorded too
    created = ok(await reads.create(widget()))
    ok(await reads.get(created.id))
    ok(await reads.list())
    ok(await reads.list_by_cursor())
    ok(await reads.update(created.id, WidgetUpdate(name="cog")))
    ok(await reads.delete(created.id))

    assert opened == ["write", "read", "read", "read", "write", "write"]
