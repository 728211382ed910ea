from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import pytest
from pydantic import Field, ValidationError

from apibase.application.cqrs.messages import BaseCommand, BaseQuery, Message

pytestmark = pytest.mark.unit


class RenameUser(BaseCommand[None]):
    new_name: str
    password: str


class GetUser(BaseQuery[str]):
    user_id: int
    tags: dict[str, int] = Field(default_factory=dict)


class GetUserCached(BaseQuery[str]):
    cache_ttl_seconds: ClassVar[float | None] = 30.0

    user_id: int


class GetAccount(BaseQuery[str]):
    user_id: int


def test_command_metadata_defaults() -> None:
    before = datetime.now(UTC)
    first = RenameUser(new_name="a", password="p")
    second = RenameUser(new_name="a", password="p")

    assert isinstance(first.command_id, uuid.UUID)
    assert first.command_id.version == 4
    assert first.command_id != second.command_id
    assert first.timestamp.tzinfo is UTC
    assert before <= first.timestamp <= datetime.now(UTC)
    assert first.correlation_id is None
    assert first.user_id is None


def test_command_keeps_given_metadata() -> None:
    command_id = uuid.uuid4()
    command = RenameUser(new_name="a", password="p", command_id=command_id, correlation_id="req-1", user_id="u-1")

    assert (command.command_id, command.correlation_id, command.user_id) == (command_id, "req-1", "u-1")


def test_command_timestamp_is_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    command = RenameUser(new_name="a", password="p", timestamp=datetime(2024, 6, 1, 14, 0, tzinfo=paris))

    assert command.timestamp == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert command.timestamp.utcoffset() == timedelta(0)


def test_command_rejects_a_naive_timestamp() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        RenameUser(new_name="a", password="p", timestamp=datetime(2024, 6, 1, 12, 0))


def test_messages_are_frozen_and_reject_unknown_fields() -> None:
    command = RenameUser(new_name="a", password="p")
    query = GetUser(user_id=1)

    with pytest.raises(ValidationError, match="frozen"):
        command.new_name = "b"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        query.user_id = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        RenameUser(new_name="a", password="p", nickname="x")  # type: ignore[call-arg]


def test_log_context_names_type_and_ids_but_no_field_values() -> None:
    command = RenameUser(new_name="Alice", password="hunter2", correlation_id="req-1", user_id="u-1")

    context = command.log_context()

    assert context == {
        "message_type": "RenameUser",
        "command_id": str(command.command_id),
        "correlation_id": "req-1",
        "user_id": "u-1",
    }
    assert GetUser(user_id=42).log_context() == {"message_type": "GetUser"}


def test_both_kinds_are_messages() -> None:
    assert isinstance(RenameUser(new_name="a", password="p"), Message)
    assert isinstance(GetUser(user_id=1), Message)


def test_queries_are_not_cached_by_default_and_the_ttl_is_not_a_field() -> None:
    assert GetUser.cache_ttl_seconds is None
    assert GetUserCached.cache_ttl_seconds == 30.0
    assert "cache_ttl_seconds" not in GetUserCached.model_fields


def test_cache_key_is_stable_for_equal_queries() -> None:
    first = GetUser(user_id=1, tags={"b": 1, "a": 2})
    second = GetUser(user_id=1, tags={"a": 2, "b": 1})

    assert first.cache_key() == second.cache_key()
    assert first.cache_key() == first.cache_key()


def test_cache_key_tells_values_and_classes_apart() -> None:
    assert GetUser(user_id=1).cache_key() != GetUser(user_id=2).cache_key()
    assert GetAccount(user_id=1).cache_key() != GetUserCached(user_id=1).cache_key()


def test_cache_key_names_the_class_but_not_the_values() -> None:
    key = GetAccount(user_id=987654321).cache_key()

    assert key.startswith(f"query:{__name__}.GetAccount:")
    assert "987654321" not in key
