"""Mask personal data and secrets in log records before any renderer or shipper sees them.

Two rules, applied to every value of the event dict, nested dicts, lists and tuples included:

- by field name: a key containing one of the configured names (case-insensitive substring, so ``password``
  also catches ``new_password`` and ``X-Api-Key`` matches ``api-key`` only if configured) has its whole value
  replaced by ``[MASKED]``; ``None`` stays ``None`` (an absent secret leaks nothing);
- by content, in any string: e-mail addresses (``a***@example.com``: the domain stays, it helps support),
  phone numbers (E.164 and common national formats), card numbers (13-19 digits, Luhn-valid and starting like a
  card network's, so order ids and timestamps survive), JWTs, bearer tokens, this service's API keys
  (``ab_<prefix>_<secret>``: the public prefix stays, it names the key) and ``password=...``-style pairs in text.

Content rules err on the side of masking; ids, UUIDs and ISO timestamps are written so that none of them match.
The caller's objects are never mutated: containers that needed a change are copied, the rest are shared.
Strings shorter than the shortest maskable thing are skipped, each pattern runs only when a cheap ``in``
check says it could match, and the verdict on a short text is remembered (bounded), which keeps a typical access
line under a few microseconds.

Public API: ``PiiMasker(masked_fields=DEFAULT_MASKED_FIELDS)`` (a structlog processor, also usable as
``masker.mask(value)``), ``mask_text(text)``, ``luhn_valid(digits)``, ``MASK``, ``DEFAULT_MASKED_FIELDS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from structlog.typing import EventDict, WrappedLogger

__all__ = ["DEFAULT_MASKED_FIELDS", "MASK", "PiiMasker", "luhn_valid", "mask_text"]

MASK: Final = "[MASKED]"
DEFAULT_MASKED_FIELDS: Final = ("password", "secret", "token", "authorization", "api_key", "cookie", "card_number")
#: Shorter strings cannot hold any of the patterns below ("pw=ab" is the shortest secret pair worth a regex).
_MIN_LENGTH: Final = 6
#: Secret-looking keys in free text (``password=hunter2``, ``"api_key": "x"``, ``Authorization: Bearer x``).
_TEXT_SECRET_KEYS: Final = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "authorization",
    "cookie",
)

_EMAIL: Final = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}")
_API_KEY: Final = re.compile(r"\b(ab_[0-9a-f]{16}_)[A-Za-z0-9_-]+")
_BEARER: Final = re.compile(r"\b([Bb]earer|BEARER)\s+[A-Za-z0-9._~+/=-]+")
_SECRET_PAIR: Final = re.compile(
    r"(?i)((?:" + "|".join(map(re.escape, _TEXT_SECRET_KEYS)) + r")[\w.-]*[\"']?\s*[:=]\s*)"
    r"(\"[^\"]*\"|'[^']*'|(?:bearer|basic|token)\s+[^\s,;&]+|[^\s,;&\"'}\]]+)"
)
# Numbers, one pass: a card (a network's leading digit 2-6, 13-19 digits, single spaces or dashes between them)
# or a national phone number (North American (415) 555-2671 / 415-555-2671, trunk-prefixed 020 7946 0958 or
# 06 12 34 56 78). Hyphens, dots, "+" and word characters around a match rule it out, so UUIDs, dotted versions,
# dash-joined ids and ISO timestamps never match.
_NUMBER: Final = re.compile(
    r"(?<![\w.+-])(?:(?P<card>[2-6]\d(?:[ -]?\d){11,17})"
    r"|(?P<phone>\(\d{3}\)\s?\d{3}[-. ]\d{4}|\d{3}([-. ])\d{3}\3\d{4}|0\d{1,4}(?:([ -])\d{2,4}){2,4}))(?![\w.-])",
    re.ASCII,
)
# E.164-ish: "+" and 8-15 digits, separators allowed.
_PHONE_INTERNATIONAL: Final = re.compile(r"(?<![\w+])\+[1-9][\d ().-]{6,22}\d(?!\w)", re.ASCII)
_DIGITS: Final = re.compile(r"\d", re.ASCII)
# Every card or national phone number has 9+ ASCII digits; counting them with bytes.translate costs a fifth of
# the number regex, and words, paths, IPs and most ids have fewer.
_ASCII_DIGITS: Final = b"0123456789"
_MIN_NUMBER_DIGITS: Final = 9
_SECRET_KEY_HINTS: Final = ("pass", "pwd", "secret", "token", "key", "auth", "cookie")
#: Bounds the field-name cache when callers log dynamic keys (ids as keys): past it, names are matched each time.
_KNOWN_FIELDS_LIMIT: Final = 4096
#: Values up to this length have their verdict remembered (ids, paths, addresses repeat from line to line); at most
#: ``_KNOWN_TEXTS_LIMIT`` of them, forgotten all at once when full.
_KNOWN_TEXT_LENGTH: Final = 256
_KNOWN_TEXTS_LIMIT: Final = 4096
#: Value types ``mask`` returns as they are; checked by exact type, a subclass may render as text.
_NUMBERS: Final = frozenset({int, float, bool})
#: Top-level fields the logging pipeline writes itself from trusted sources; scanning them would only cost time.
_OWN_FIELDS: Final = frozenset({"timestamp", "level", "logger", "trace_id", "span_id"})


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits (the check every payment card number passes)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_email(match: re.Match[str]) -> str:
    return f"{match[1]}***@{match[2]}"


def _mask_number(match: re.Match[str]) -> str:
    card = match["card"]
    if card is not None:
        return "[CARD]" if luhn_valid(card.replace(" ", "").replace("-", "")) else card
    return "[PHONE]" if 9 <= len(_DIGITS.findall(match[0])) <= 12 else match[0]


def _mask_international_phone(match: re.Match[str]) -> str:
    return "[PHONE]" if 8 <= len(_DIGITS.findall(match[0])) <= 15 else match[0]


def _mask_secret_pair(match: re.Match[str]) -> str:
    value = match[2]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match[1]}{quote}{MASK}{quote}"


def mask_text(text: str) -> str:
    """``text`` with every recognised secret and piece of personal data replaced; the same object if none.

    Each pattern runs only when a substring check (a few tens of nanoseconds) says it could match. Order matters:
    whole tokens first (a JWT may contain digits that look like a phone number), then pairs, then numbers. The
    verdict on a short text is remembered: the same caller, path or address is on many lines.
    """
    if len(text) < _MIN_LENGTH:
        return text
    if text.isalnum():
        # Words and ids, most values of a line: no rule's punctuation, and a card may not touch a word character,
        # so only a bare card number can be in there.
        return "[CARD]" if _is_bare_card(text) else text
    if len(text) > _KNOWN_TEXT_LENGTH:
        return _mask_patterns(text)
    known = _known_texts.get(text, text)
    if known is not text:
        return text if known is None else known
    masked = _mask_patterns(text)
    if len(_known_texts) >= _KNOWN_TEXTS_LIMIT:
        _known_texts.clear()
    _known_texts[text] = None if masked is text else masked
    return masked


#: ``mask_text``'s remembered verdicts: the masked text, or ``None`` for a text left as it was.
_known_texts: dict[str, str | None] = {}


def _mask_patterns(text: str) -> str:
    if "eyJ" in text:
        text = _JWT.sub("[JWT]", text)
    if "ab_" in text:
        text = _API_KEY.sub(rf"\g<1>{MASK}", text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(rf"\g<1> {MASK}", text)
    if ("=" in text or ":" in text) and _may_name_a_secret(text.lower()):
        text = _SECRET_PAIR.sub(_mask_secret_pair, text)
    if "@" in text:
        text = _EMAIL.sub(_mask_email, text)
    if "+" in text:
        text = _PHONE_INTERNATIONAL.sub(_mask_international_phone, text)
    if _digit_count(text) >= _MIN_NUMBER_DIGITS:
        text = _NUMBER.sub(_mask_number, text)
    return text


def _digit_count(text: str) -> int:
    encoded = text.encode("utf-8", "replace")
    return len(encoded) - len(encoded.translate(None, _ASCII_DIGITS))


def _is_bare_card(text: str) -> bool:
    return 13 <= len(text) <= 19 and text.isascii() and text.isdigit() and text[0] in "23456" and luhn_valid(text)


def _may_name_a_secret(lowered: str) -> bool:
    return any(hint in lowered for hint in _SECRET_KEY_HINTS)


class PiiMasker:
    """A structlog processor: masks by field name and by content, recursively, without mutating its input.

    The event dict itself is structlog's own copy and is updated in place; nested containers belong to the
    caller and are copied when, and only when, something inside them changes.
    """

    __slots__ = ("_field_pattern", "_known_fields")

    def __init__(self, masked_fields: Iterable[str] = DEFAULT_MASKED_FIELDS) -> None:
        names = sorted({name.strip().lower() for name in masked_fields if name.strip()})
        self._field_pattern = re.compile("|".join(map(re.escape, names)), re.IGNORECASE) if names else None
        # Field names repeat on every line; remembering the verdict saves a regex search per field.
        self._known_fields: dict[str, bool] = {}

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        # The hot path of every log line: the common cases (absent values, known names, strings) are inlined.
        known_fields = self._known_fields
        for key, value in event_dict.items():
            if value is None or key in _OWN_FIELDS:
                continue
            masked_field = known_fields.get(key)
            if masked_field is None:
                masked_field = self.is_masked_field(key)
            if masked_field:
                event_dict[key] = MASK
            elif type(value) is str:
                masked_text = mask_text(value)
                if masked_text is not value:
                    event_dict[key] = masked_text
            elif type(value) not in _NUMBERS:  # a number holds no text to mask (status, durations)
                masked = self.mask(value)
                if masked is not value:
                    event_dict[key] = masked
        return event_dict

    def mask(self, value: object) -> object:
        """``value`` with personal data masked; the same object when nothing needed masking."""
        if isinstance(value, str):
            return mask_text(value)
        if isinstance(value, Mapping):
            return self._mask_mapping(value)
        if isinstance(value, list | tuple):
            return self._mask_sequence(value)
        return value

    def is_masked_field(self, name: object) -> bool:
        if not isinstance(name, str) or self._field_pattern is None:
            return False
        known = self._known_fields.get(name)
        if known is None:
            known = self._field_pattern.search(name) is not None
            if len(self._known_fields) < _KNOWN_FIELDS_LIMIT:
                self._known_fields[name] = known
        return known

    def _mask_field(self, key: object, value: object) -> object:
        if value is not None and self.is_masked_field(key):
            return MASK
        return self.mask(value)

    def _mask_mapping(self, mapping: Mapping[object, object]) -> object:
        changed: dict[object, object] | None = None
        for key, value in mapping.items():
            masked = self._mask_field(key, value)
            if masked is not value:
                changed = changed if changed is not None else dict(mapping)
                changed[key] = masked
        return changed if changed is not None else mapping

    def _mask_sequence(self, items: list[object] | tuple[object, ...]) -> object:
        masked = [self.mask(item) for item in items]
        if all(new is old for new, old in zip(masked, items, strict=True)):
            return items
        return tuple(masked) if isinstance(items, tuple) else masked
