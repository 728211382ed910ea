"""The error-code registry: domain prefixes, no duplicates, and every common code listed."""

from __future__ import annotations

import importlib
from enum import StrEnum

import pytest

from apibase.core.error_codes import CommonErrorCode, error_codes, registered_error_codes

pytestmark = pytest.mark.unit

# ``apibase.core`` re-exports the ``error_codes`` decorator, which shadows the submodule as a package attribute.
error_codes_module = importlib.import_module("apibase.core.error_codes")


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every enum registered here is forgotten after its test (docs/error-codes.md lists the real ones)."""
    monkeypatch.setattr(error_codes_module, "_REGISTRY", dict(error_codes_module._REGISTRY))


def test_every_common_code_is_registered() -> None:
    registered = registered_error_codes()
    for member in CommonErrorCode:
        assert registered[member.value] is member


def test_common_codes_carry_the_common_prefix() -> None:
    assert all(member.value.startswith("common.") for member in CommonErrorCode)


def test_registered_error_codes_returns_a_fresh_mapping() -> None:
    snapshot = registered_error_codes()
    snapshot.clear()
    assert CommonErrorCode.NOT_FOUND.value in registered_error_codes()


def test_registering_an_enum_returns_it_and_lists_its_codes() -> None:
    class BillingCode(StrEnum):
        CARD_DECLINED = "test_codes_billing.card_declined"
        INVOICE_LOCKED = "test_codes_billing.invoice_locked"

    assert error_codes("test_codes_billing")(BillingCode) is BillingCode
    registered = registered_error_codes()
    assert registered["test_codes_billing.card_declined"] is BillingCode.CARD_DECLINED
    assert registered["test_codes_billing.invoice_locked"] is BillingCode.INVOICE_LOCKED
    assert registered["common.internal"] is CommonErrorCode.INTERNAL


def test_works_as_a_class_decorator() -> None:
    @error_codes("test_codes_decorator")
    class DecoratedCode(StrEnum):
        ONE = "test_codes_decorator.one"

    assert registered_error_codes()["test_codes_decorator.one"] is DecoratedCode.ONE


@pytest.mark.parametrize(
    "value",
    [
        "refund_missing",  # no prefix at all
        "test_codes_other.refund_missing",  # another domain
        "test_codes_refundsx.missing",  # the domain name is not followed by a dot
        "test_codes_refunds_missing",  # underscore instead of the dot
    ],
)
def test_refuses_a_code_without_the_domain_prefix(value: str) -> None:
    class RefundCode(StrEnum):
        FINE = "test_codes_refunds.fine"
        BAD = value

    with pytest.raises(ValueError, match=r"must start with 'test_codes_refunds'\."):
        error_codes("test_codes_refunds")(RefundCode)
    assert "test_codes_refunds.fine" not in registered_error_codes()


def test_refuses_a_duplicate_code() -> None:
    # Two enums can only claim the same code through nested domain names.
    @error_codes("test_codes_nested")
    class Outer(StrEnum):
        DEEP = "test_codes_nested.inner.deep"

    class Inner(StrEnum):
        DEEP = "test_codes_nested.inner.deep"

    with pytest.raises(ValueError, match=r"'test_codes_nested\.inner\.deep' is registered twice"):
        error_codes("test_codes_nested.inner")(Inner)
    assert registered_error_codes()["test_codes_nested.inner.deep"] is Outer.DEEP
    assert "test_codes_nested.inner" not in error_codes_module._REGISTRY


# Regression: a second enum for a domain used to replace the first, whose codes then silently vanished from
# registered_error_codes() (so error_from_dict could no longer rebuild errors carrying them).
def test_refuses_a_second_enum_for_a_domain() -> None:
    @error_codes("test_codes_split")
    class Early(StrEnum):
        ONE = "test_codes_split.one"

    class Late(StrEnum):
        TWO = "test_codes_split.two"

    with pytest.raises(ValueError, match="domain 'test_codes_split' already has its error-code enum Early"):
        error_codes("test_codes_split")(Late)
    registered = registered_error_codes()
    assert registered["test_codes_split.one"] is Early.ONE
    assert "test_codes_split.two" not in registered


def test_refuses_a_second_enum_for_the_common_domain() -> None:
    class Copycat(StrEnum):
        NOT_FOUND = "common.not_found"
        EXTRA = "common.extra"

    with pytest.raises(ValueError, match="already has its error-code enum CommonErrorCode"):
        error_codes("common")(Copycat)
    registered = registered_error_codes()
    assert registered["common.not_found"] is CommonErrorCode.NOT_FOUND
    assert "common.extra" not in registered


def test_registering_the_same_enum_again_is_harmless() -> None:
    class Idempotent(StrEnum):
        ONE = "test_codes_again.one"

    error_codes("test_codes_again")(Idempotent)
    assert error_codes("test_codes_again")(Idempotent) is Idempotent
    assert registered_error_codes()["test_codes_again.one"] is Idempotent.ONE


def test_an_empty_enum_registers_nothing() -> None:
    class Nothing(StrEnum):
        pass

    before = registered_error_codes()
    assert error_codes("test_codes_empty")(Nothing) is Nothing
    assert registered_error_codes() == before
