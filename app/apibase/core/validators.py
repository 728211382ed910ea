"""Reusable validated types for every layer boundary: request DTOs, commands, domain fields and stored data.

Each rule is a plain function (raising ``PydanticCustomError``, a ``ValueError`` with a stable ``type`` string that
ends up in a 422 problem's ``errors``) and an ``Annotated`` alias that applies it as a pydantic field. The same
function backs both, so an HTTP body, a command built in code and an entity loaded from storage agree on what is
valid and how it is normalised.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Final
from urllib.parse import urlsplit

import nh3
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from apibase.core.errors import FieldError, ValidationFailed
from apibase.core.result import Err, Ok, Result
from apibase.core.types import Validator

__all__ = [
    "HTML_ALLOWED_ATTRIBUTES",
    "HTML_ALLOWED_TAGS",
    "HTML_URL_SCHEMES",
    "MAX_EMAIL_LENGTH",
    "MAX_HTML_INPUT_LENGTH",
    "MAX_SLUG_LENGTH",
    "MAX_URL_LENGTH",
    "Allowlist",
    "Email",
    "PhoneNumber",
    "SafeHtml",
    "Slug",
    "UuidStr",
    "WebUrl",
    "allowlist",
    "as_result",
    "check_slug",
    "check_web_url",
    "normalise_email",
    "normalise_phone_number",
    "normalise_uuid",
    "required_when",
    "sanitise_html",
]

MAX_EMAIL_LENGTH: Final = 254
MAX_URL_LENGTH: Final = 2048
MAX_SLUG_LENGTH: Final = 100
#: Refused before sanitising, so a huge fragment costs nothing; what is stored is bounded by the field.
MAX_HTML_INPUT_LENGTH: Final = 100_000
_MAX_PHONE_INPUT_LENGTH: Final = 64

#: Formatting and links only: no forms, media, frames, tables or anything that can run or load content.
HTML_ALLOWED_TAGS: Final = frozenset(
    {"a", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre", "strong", "ul"}
)
HTML_ALLOWED_ATTRIBUTES: Final = {"a": frozenset({"href", "title"})}
HTML_URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})
#: Dropped together with their content (the rest of the unknown tags keep their text).
_HTML_DROPPED_WITH_CONTENT: Final = frozenset({"script", "style"})
_HTML_MAX_PASSES: Final = 3

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_WEB_SCHEMES: Final = frozenset({"http", "https"})


def _invalid(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def normalise_email(value: str) -> str:
    """Syntax only (no DNS: only a confirmation mail proves an address), trimmed and lower-cased, IDN domains in
    Unicode, so that looking orders up by customer does not depend on how the address was typed."""
    candidate = value.strip()
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise _invalid("invalid_email", f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _invalid("invalid_email", "not a valid email address") from exc
    normalised = checked.normalized.lower()
    if len(normalised) > MAX_EMAIL_LENGTH:
        raise _invalid("invalid_email", f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    return normalised


def normalise_phone_number(value: str) -> str:
    """E.164 (``+4930123456``): one stored form whatever spacing or punctuation the caller used.

    Without a region to guess from, the number must carry its country code (start with ``+``).
    """
    candidate = value.strip()
    if len(candidate) > _MAX_PHONE_INPUT_LENGTH:
        raise _invalid("invalid_phone_number", "not a valid phone number")
    if not candidate.startswith("+"):
        raise _invalid("invalid_phone_number", "a phone number must start with + and its country code")
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise _invalid("invalid_phone_number", "not a valid phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise _invalid("invalid_phone_number", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_web_url(value: str) -> str:
    """An absolute http(s) URL with a host and no credentials; returned unchanged.

    Anything a browser could read differently from ``urlsplit`` (whitespace, control characters, backslashes)
    is refused rather than repaired, and ``user:pass@`` is refused because credentials leak through logs.
    """
    if len(value) > MAX_URL_LENGTH:
        raise _invalid("invalid_url", f"a URL has at most {MAX_URL_LENGTH} characters")
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in value) or "\\" in value:
        raise _invalid("invalid_url", "a URL must not contain spaces, control characters or backslashes")
    scheme, _, rest = value.partition(":")
    if scheme.lower() not in _WEB_SCHEMES or not rest.startswith("//"):
        raise _invalid("invalid_url", "only absolute http and https URLs are accepted")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        raise _invalid("invalid_url", "a URL must not contain a user name or password")
    try:
        _ = parts.port
    except ValueError as exc:
        raise _invalid("invalid_url", "the URL's port is not valid") from exc
    if not parts.hostname:
        raise _invalid("invalid_url", "a URL needs a host")
    return value


def normalise_uuid(value: str) -> str:
    """The canonical lower-case, hyphenated form, so ids compare equal as strings too."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError as exc:
        raise _invalid("invalid_uuid", "not a valid UUID") from exc


def sanitise_html(value: str) -> str:
    """Keep only the allow-listed tags and attributes; links get ``rel="noopener noreferrer"``.

    Scripts and styles go with their content; event handlers, ``style`` and ``javascript:`` URLs never survive.
    Sanitising is applied on the way in, so what is stored is safe to render as it is. Mis-nested markup can
    serialise to something a parser reads differently (the root of mutation XSS), so the fragment is cleaned
    again until it is stable, and one that does not settle is refused.
    """
    if len(value) > MAX_HTML_INPUT_LENGTH:
        raise _invalid("html_too_long", f"an HTML fragment has at most {MAX_HTML_INPUT_LENGTH} characters")
    return _sanitised_recently(value) if len(value) <= _CACHED_HTML_LENGTH else _sanitised(value)


#: Stored fragments are sanitised again each time a row is read (a page of 50 products: 100 passes of the
#: sanitiser); the same short fragments come back again and again, so their results are kept (a bounded few MB).
_CACHED_HTML_LENGTH: Final = 4000


@lru_cache(maxsize=1024)
def _sanitised_recently(value: str) -> str:
    return _sanitised(value)  # a refused fragment raises, and lru_cache keeps no exceptions


def _sanitised(value: str) -> str:
    cleaned = _clean_html(value)
    for _ in range(_HTML_MAX_PASSES):
        again = _clean_html(cleaned)
        if again == cleaned:
            return cleaned
        cleaned = again
    raise _invalid("html_unstable", "the HTML fragment is too badly nested to sanitise; simplify its markup")


def _clean_html(value: str) -> str:
    return nh3.clean(
        value,
        tags=set(HTML_ALLOWED_TAGS),
        clean_content_tags=set(_HTML_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in HTML_ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(HTML_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def check_slug(value: str) -> str:
    """Lower-case ASCII words joined by single hyphens; refused rather than slugified, so URLs stay stable."""
    if len(value) > MAX_SLUG_LENGTH or _SLUG.fullmatch(value) is None:
        raise _invalid(
            "invalid_slug",
            f"a slug is 1-{MAX_SLUG_LENGTH} lower-case letters, digits and single hyphens, e.g. 'blue-mug-500'",
        )
    return value


Email = Annotated[
    str,
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}),
]
PhoneNumber = Annotated[
    str,
    AfterValidator(normalise_phone_number),
    WithJsonSchema({"type": "string", "pattern": r"^\+[1-9][0-9]{1,14}$", "examples": ["+4930123456"]}),
]
WebUrl = Annotated[
    str,
    AfterValidator(check_web_url),
    WithJsonSchema(
        {"type": "string", "format": "uri", "maxLength": MAX_URL_LENGTH, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}
    ),
]
UuidStr = Annotated[str, AfterValidator(normalise_uuid), WithJsonSchema({"type": "string", "format": "uuid"})]
SafeHtml = Annotated[
    str,
    AfterValidator(sanitise_html),
    # Extra keys, not a replacement schema: a ``Field(max_length=...)`` around it still shows in the schema (and,
    # placed after the sanitiser, bounds what is stored).
    Field(json_schema_extra={"contentMediaType": "text/html"}),
]
Slug = Annotated[
    str,
    AfterValidator(check_slug),
    WithJsonSchema({"type": "string", "pattern": _SLUG.pattern.join("^$"), "maxLength": MAX_SLUG_LENGTH}),
]


@dataclass(frozen=True, slots=True)
class Allowlist:
    """``Annotated[str, allowlist("png", "jpeg")]``: one of a fixed set, listed as ``enum`` in the schema.

    For open-ended sets that come from configuration; a closed set known in code is better a ``StrEnum``.
    """

    values: tuple[Hashable, ...]

    def __get_pydantic_core_schema__(self, source: type[object], handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["enum"] = list(self.values)
        return json_schema

    def _check[V](self, value: V) -> V:
        if value not in self.values:
            raise PydanticCustomError(
                "not_allowed", "must be one of: {allowed}", {"allowed": ", ".join(map(str, self.values))}
            )
        return value


def allowlist(*values: Hashable) -> Allowlist:
    """The metadata for ``Annotated[T, allowlist(...)]``; an empty list would refuse everything, so it is a bug."""
    if not values:
        raise ValueError("an allowlist needs at least one value")
    return Allowlist(tuple(values))


def required_when[M: BaseModel](field: str, *, when: str, is_in: Collection[object] | None = None) -> Callable[[M], M]:
    """An after-model validator: ``field`` must be set (not None, not blank) when ``when`` has a value.

    With ``is_in``, only when ``when``'s value is one of those. Use it as
    ``_reason_needed = model_validator(mode="after")(required_when("reason", when="status", is_in={"cancelled"}))``.
    """

    def check(model: M) -> M:
        trigger = getattr(model, when)
        triggered = trigger is not None if is_in is None else trigger in is_in
        value = getattr(model, field)
        if triggered and (value is None or (isinstance(value, str) and not value.strip())):
            shown = "set" if is_in is None else str(trigger)
            raise PydanticCustomError(
                "required_when",
                "{field} is required when {when} is {shown}",
                {"field": field, "when": when, "shown": shown},
            )
        return model

    return check


def as_result[T](check: Callable[[T], T], field: str) -> Validator[T]:
    """Turn one of the checks above into a ``Validator`` (e.g. for ``Validated.check``)."""

    def validate(value: T) -> Result[T, ValidationFailed]:
        try:
            return Ok(check(value))
        except PydanticCustomError as exc:
            error = FieldError(loc=(field,), message=exc.message(), type=exc.type)
            return Err(ValidationFailed.from_field_errors([error]))

    return validate
