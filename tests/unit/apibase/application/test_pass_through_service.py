"""PassThroughReads hands reads and deletes to the wrapped service unchanged."""

from __future__ import annotations

from apibase.application.pagination import CountStrategy, SortField
from apibase.application.pass_through_service import PassThroughReads
from apibase.core.result import Ok, Result


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []

    async def _record(self, name: str, **arguments: object) -> Result[object, object]:
        self.calls.append((name, arguments))
        return Ok(name)

    async def get(self, entity_id: object) -> Result[object, object]:
        return await self._record("get", entity_id=entity_id)

    async def list(self, **arguments: object) -> Result[object, object]:
        return await self._record("list", **arguments)

    async def list_by_cursor(self, **arguments: object) -> Result[object, object]:
        return await self._record("list_by_cursor", **arguments)

    async def delete(self, entity_id: object, *, actor: str | None = None) -> Result[object, object]:
        return await self._record("delete", entity_id=entity_id, actor=actor)


async def test_reads_and_delete_reach_the_inner_service_as_they_are() -> None:
    inner = Recording()
    reads = PassThroughReads(inner)  # type: ignore[var-annotated,arg-type]
    sort = (SortField("name", descending=True),)
    assert await reads.get(7) == Ok("get")
    assert await reads.list(sort=sort, offset=5, limit=3, count=CountStrategy.NONE) == Ok("list")
    assert await reads.list_by_cursor(cursor="c", limit=2) == Ok("list_by_cursor")
    assert await reads.delete(7, actor="ada") == Ok("delete")
    assert inner.calls == [
        ("get", {"entity_id": 7}),
        ("list", {"where": None, "sort": sort, "offset": 5, "limit": 3, "count": CountStrategy.NONE}),
        ("list_by_cursor", {"where": None, "sort": (), "cursor": "c", "limit": 2}),
        ("delete", {"entity_id": 7, "actor": "ada"}),
    ]
