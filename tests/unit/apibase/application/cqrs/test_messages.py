from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import Field, ValidationError

from apibase.application.cqrs.messages import BaseCommand, BaseQuery, Message
from apibase.core.context import correlation_id, principal, tenant
from apibase.core.principal import AuthMethod, Principal

pytestmark = pytest.mark.unit


class RenameUser(BaseCommand[None]):
    new_name: str
    password: str


class GetUser(BaseQuery[str]):
    user_id: int
    tags: dict[str, int] = Field(default_factory=dict)


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
    assert first.tenant_id is None


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
        "tenant_id": None,
    }
    assert GetUser(user_id=42).log_context() == {"message_type": "GetUser"}


def test_both_kinds_are_messages() -> None:
    assert isinstance(RenameUser(new_name="a", password="p"), Message)
    assert isinstance(GetUser(user_id=1), Message)


def test_with_context_fills_the_caller_tenant_and_correlation_id_from_the_request() -> None:
    alice = Principal("alice", "acme", frozenset(), frozenset(), AuthMethod.ACCESS_TOKEN)
    command = RenameUser(new_name="a", password="p")
    tokens = (principal.set(alice), tenant.set("acme"), correlation_id.set("checkout-42"))
    try:
        stamped = command.with_context()
    finally:
        correlation_id.reset(tokens[2])
        tenant.reset(tokens[1])
        principal.reset(tokens[0])

    assert (stamped.user_id, stamped.tenant_id, stamped.correlation_id) == ("alice", "acme", "checkout-42")
    assert (stamped.command_id, stamped.new_name) == (command.command_id, "a")
    assert command.user_id is None, "the original is left as it was"


def test_with_context_keeps_what_the_command_was_given() -> None:
    command = RenameUser(new_name="a", password="p", correlation_id="replayed", user_id="job", tenant_id="acme")
    token = correlation_id.set("checkout-42")
    try:
        assert command.with_context() is command
    finally:
        correlation_id.reset(token)


def test_with_context_outside_a_request_changes_nothing() -> None:
    command = RenameUser(new_name="a", password="p")

    assert command.with_context() is command
