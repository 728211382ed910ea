"""PII masking: each kind of personal data and secret, nested values, field names, and no false positives."""

from __future__ import annotations

import pytest

from apibase.infrastructure.observability import pii
from apibase.infrastructure.observability.pii import MASK, PiiMasker, luhn_valid, mask_text

pytestmark = pytest.mark.unit

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
API_KEY = "ab_0123456789abcdef_Zx-y_9QkLmN0pQrStUvWxYz"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # e-mail addresses: first character and domain stay
        ("mail alice.smith+news@example.co.uk now", "mail a***@example.co.uk now"),
        ("bob@example.org", "b***@example.org"),
        # phone numbers
        ("call +1 415 555 2671 today", "call [PHONE] today"),
        ("call +14155552671.", "call [PHONE]."),
        ("+44 (20) 7946-0958", "[PHONE]"),
        ("(415) 555-2671", "[PHONE]"),
        ("fax 415-555-2671", "fax [PHONE]"),
        ("415.555.2671", "[PHONE]"),
        ("London 020 7946 0958", "London [PHONE]"),
        ("Paris 06 12 34 56 78", "Paris [PHONE]"),
        # card numbers, Luhn-valid only
        ("card 4111 1111 1111 1111 ok", "card [CARD] ok"),
        ("5500-0000-0000-0004", "[CARD]"),
        ("amex 378282246310005", "amex [CARD]"),
        ("4111111111111111", "[CARD]"),
        # tokens and keys
        (f"token {JWT}", "token [JWT]"),
        ("Bearer abc.def-ghi_123", f"Bearer {MASK}"),
        ("Authorization: Bearer abc.def", f"Authorization: {MASK}"),
        (f"key {API_KEY} used", f"key ab_0123456789abcdef_{MASK} used"),
        # secrets in free text
        ("password=hunter2 user=bob", f"password={MASK} user=bob"),
        ("client_secret=abc&x=1", f"client_secret={MASK}&x=1"),
        ('{"password": "hunter2", "a": 1}', f'{{"password": "{MASK}", "a": 1}}'),
        ("api_key: 'xyz123'", f"api_key: '{MASK}'"),
        ("PWD:letmein", f"PWD:{MASK}"),
    ],
)
def test_personal_data_and_secrets_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn-invalid card-like number
        "order 1234567890123456 placed",  # 16 digits, starts with no card network's digit
        "1700000000123456789",  # epoch nanoseconds
        "123e4567-e89b-12d3-a456-426614174000",  # UUID
        "00000000-0000-0000-0000-000000000000",
        "3f1c2a4e5b6d4e7f8a9b0c1d2e3f4a5b",  # request id
        "2026-01-02T10:11:12.123456+00:00",  # ISO timestamps
        "2026-01-02T10:11:12Z",
        "ord-2026-000123",  # dash-joined order id
        "ORD_20260102_4111111111111111",
        "01-02-2026",  # a date with 8 digits
        "v1.2.3",
        "/api/v1/products/{product_id}",
        "took 1234567890 ms",
        "10.0.0.1",
        "2001:db8::1",
        "+05:30",
        "a@b",  # too short to be an address
        "basic validation failed",
        "5 tokens left",
    ],
)
def test_ids_dates_and_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_masking_errs_on_the_wide_side_for_token_words() -> None:
    # A word after "bearer" could be a token; losing a word of prose is the cheaper mistake.
    assert mask_text("the bearer of bad news") == f"the bearer {MASK} bad news"


def test_unchanged_text_is_the_same_object() -> None:
    text = "nothing to see here, 42 times"
    assert mask_text(text) is text


def test_remembered_verdicts_give_the_same_answers() -> None:
    for _ in range(3):
        unchanged = "".join(["/api/v2/products/", "7d75d032-904c-4cda-aba4-c144d5c83c67"])  # a new object each time
        assert mask_text(unchanged) is unchanged
        assert mask_text("".join(["/users/", "jane.doe@example.com"])) == "/users/j***@example.com"
        assert mask_text("".join(["Bearer ", JWT])) == "Bearer [JWT]"


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_past_the_memory_limit_texts_are_masked_all_the_same(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(pii, "_KNOWN_TEXTS_LIMIT", limit)
    texts = [f"/orders/{n}/mail/a{n}@example.com" for n in range(5)] * 2
    assert [mask_text(text) for text in texts] == [f"/orders/{n}/mail/a***@example.com" for n in range(5)] * 2
    assert len(pii._known_texts) <= max(limit, 1)


def test_long_texts_are_masked_without_being_remembered() -> None:
    text = "x" * 300 + " call +44 20 7946 0958 or mail bob@example.org"
    assert mask_text(text) == "x" * 300 + " call [PHONE] or mail b***@example.org"
    assert text not in pii._known_texts


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("1234567890123456")


def test_fields_are_masked_by_name_case_insensitively_as_substrings() -> None:
    masker = PiiMasker(("password", "api_key", "authorization"))
    event = {
        "event": "login",
        "Password": "hunter2",
        "new_password": "x",
        "X-API_KEY-Header": 12345,
        "authorization": {"scheme": "Bearer", "value": "t"},
        "password_hint": None,
        "username": "alice",
    }
    assert masker(None, "info", event) == {
        "event": "login",
        "Password": MASK,
        "new_password": MASK,
        "X-API_KEY-Header": MASK,
        "authorization": MASK,
        "password_hint": None,
        "username": "alice",
    }


def test_nested_dicts_lists_and_tuples_are_masked_without_touching_the_originals() -> None:
    masker = PiiMasker()
    payload = {
        "customer": {"email": "bob@example.org", "Token": "t0k3n", "tags": ("vip", "+4930123456")},
        "cards": ["4111111111111111", {"card_number": "4111-1111-1111-1111"}],
        "count": 3,
    }
    original = repr(payload)
    event = {"event": "checkout", "payload": payload}
    masked = masker(None, "info", event)
    assert masked["payload"] == {
        "customer": {"email": "b***@example.org", "Token": MASK, "tags": ("vip", "[PHONE]")},
        "cards": ["[CARD]", {"card_number": MASK}],
        "count": 3,
    }
    assert repr(payload) == original  # the caller's objects are untouched
    assert isinstance(masked["payload"]["customer"]["tags"], tuple)


def test_containers_without_personal_data_are_shared_not_copied() -> None:
    masker = PiiMasker()
    clean = {"ids": ["a1", "b2"], "sizes": (1, 2)}
    assert masker.mask(clean) is clean


def test_pipeline_fields_are_skipped_and_no_masked_fields_is_allowed() -> None:
    masker = PiiMasker(())
    event = {"timestamp": "2026-01-02T10:11:12Z", "logger": "token.service", "password": "x", "event": "ok"}
    assert masker(None, "info", dict(event)) == event
    assert not masker.is_masked_field("password")
    assert not PiiMasker().is_masked_field(42)
