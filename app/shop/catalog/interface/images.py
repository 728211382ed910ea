"""File uploads, checked by size, declared type and content, and served back so that browsers cannot be tricked.

The client's ``Content-Type`` is a claim, never the truth: an upload is accepted only when the claim is on the
policy's list AND the file's magic bytes say the same (``puremagic``), and nothing that starts like markup is
accepted at all (a browser that sniffs could run it). The body is read as a stream and refused as soon as it
passes the limit, whether or not ``Content-Length`` was sent. Served files carry ``nosniff``, a sandboxing
Content-Security-Policy, and ``Content-Disposition: attachment`` unless they are images.

Public API: ``UploadPolicy``, ``safe_filename(name) -> Result[str, ValidationFailed]``,
``detect_media_types(data)``, ``read_upload(request, policy) -> Upload``, ``product_image_router(...)`` and
``PRODUCT_IMAGE_PATH`` (the regular expression of the upload paths, for middleware that must let them through).
"""

# No ``from __future__ import annotations``: FastAPI reads these endpoint annotations at definition time.
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Annotated, Final, Protocol

import puremagic
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel

from apibase.application.pagination import ApiResponse
from apibase.application.ports.files import FileStore
from apibase.core.errors import (
    AnyAppError,
    FieldError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationFailed,
)
from apibase.core.result import Err, Ok, Result
from apibase.interface.http.crud import Provider
from apibase.interface.http.responses import response_meta, unwrap
from apibase.interface.http.security.authorization import require
from shop.catalog.domain.permissions import PRODUCTS_READ, PRODUCTS_WRITE
from shop.catalog.domain.product import ProductId

__all__ = [
    "DEFAULT_UPLOAD_TYPES",
    "MAX_FILENAME_BYTES",
    "PRODUCT_IMAGE_PATH",
    "ImageOut",
    "ProductLookup",
    "Upload",
    "UploadPolicy",
    "detect_media_types",
    "product_image_router",
    "read_upload",
    "safe_filename",
]

DEFAULT_UPLOAD_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/webp", "application/pdf"})
MAX_FILENAME_BYTES: Final = 255
#: Every version's product image path: what body-format middleware (JSON-only) must let through.
PRODUCT_IMAGE_PATH: Final = r"^/api/v[0-9]+/products/[^/]+/image$"

#: Browsers sniff at most the first 1445 bytes (WHATWG MIME Sniffing); markup there could be run as HTML.
_SNIFF_WINDOW: Final = 1445
#: Only long, unmistakable tags: short ones (``<p``, ``<a``) turn up by chance in compressed image data.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|object|embed|svg|style|title)\b", re.IGNORECASE)
_WINDOWS_RESERVED = re.compile(r"(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?", re.IGNORECASE)
_FILENAME_FORBIDDEN: Final = frozenset('/\\:*?"<>|')
_SANDBOX: Final = "default-src 'none'; sandbox"


@dataclass(frozen=True)
class UploadPolicy:
    """How big an upload may be and which media types (checked against the content) it may have."""

    max_bytes: int
    allowed_types: frozenset[str] = field(default=DEFAULT_UPLOAD_TYPES)

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if not self.allowed_types or any(kind != kind.lower() or "/" not in kind for kind in self.allowed_types):
            raise ValueError("allowed_types must be a non-empty set of lower-case type/subtype media types")


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    content_type: str


class ProductLookup(Protocol):
    """All the upload routes need of the product service (v1's or v2's): whether the product exists."""

    async def get(self, entity_id: ProductId) -> Result[object, AnyAppError]: ...


class ImageOut(BaseModel):
    product_id: ProductId
    content_type: str
    size: int


def safe_filename(name: str) -> Result[str, ValidationFailed]:
    """A client's file name made safe to keep and show: NFC, one path segment, nothing a file system reinterprets.

    Refused rather than repaired (a repaired name is a different name): empty names, path separators and
    traversal (``../``, ``/abs``, ``C:``, ``\\``), control and bidirectional-override characters, names that
    are hidden or end in a dot or space, Windows device names (``CON``, ``nul.txt``), and names over 255 bytes.
    """
    candidate = unicodedata.normalize("NFC", name)
    problem = _filename_problem(candidate)
    if problem is not None:
        error = FieldError(loc=("filename",), message=problem, type="unsafe_filename")
        return Err(ValidationFailed.from_field_errors([error], detail=f"unsafe file name: {problem}"))
    return Ok(candidate)


def _filename_problem(name: str) -> str | None:
    if not name.strip():
        return "the file name is empty"
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        return f"the file name is longer than {MAX_FILENAME_BYTES} bytes"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        return "the file name contains control or formatting characters"
    if any(char in _FILENAME_FORBIDDEN for char in name):
        return "the file name contains a path separator or a reserved character"
    if name.startswith(".") or name != name.strip() or name.endswith("."):
        return "the file name is hidden, or starts or ends with a space or a dot"
    if _WINDOWS_RESERVED.fullmatch(name):
        return "the file name is a reserved device name"
    return None


def detect_media_types(data: bytes) -> frozenset[str]:
    """The media types the magic bytes point to most strongly (ties kept: some signatures are shared)."""
    if not data:
        return frozenset()
    candidates = [match for match in puremagic.magic_string(data) if match.mime_type]
    if not candidates:
        return frozenset()
    best = max(match.confidence for match in candidates)
    return frozenset(match.mime_type for match in candidates if match.confidence == best)


def _declared_type(request: Request, policy: UploadPolicy) -> str:
    declared = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if declared not in policy.allowed_types:
        raise UnsupportedMediaTypeError(
            f"send the file as one of: {', '.join(sorted(policy.allowed_types))}",
            extensions={"allowed": [*sorted(policy.allowed_types)]},
        )
    return declared


async def _read_bounded(request: Request, max_bytes: int) -> bytes:
    too_large = PayloadTooLargeError(
        f"the file exceeds the limit of {max_bytes} bytes", extensions={"max_bytes": max_bytes}
    )
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > max_bytes:
            raise too_large
    return bytes(received)


async def read_upload(request: Request, policy: UploadPolicy) -> Upload:
    """The request body as an accepted upload; raises the 415, 413 or 422 problem that says why not."""
    declared = _declared_type(request, policy)
    data = await _read_bounded(request, policy.max_bytes)
    if not data:
        error = FieldError(loc=("body",), message="the upload is empty", type="empty_upload")
        raise ValidationFailed.from_field_errors([error], detail="the upload is empty")
    detected = detect_media_types(data)
    if declared not in detected:
        raise UnsupportedMediaTypeError(
            f"the content is not {declared}: the file's bytes must match its Content-Type",
            extensions={"detected": [*sorted(detected)]},
        )
    if _MARKUP.search(data[:_SNIFF_WINDOW]):
        raise UnsupportedMediaTypeError("the file starts like HTML or script, which is never accepted")
    return Upload(data=data, content_type=declared)


def _image_key(product_id: ProductId) -> str:
    return f"products/{product_id}/image"


def product_image_router(
    products: Provider[ProductLookup],
    store: Provider[FileStore],
    policy: UploadPolicy,
) -> APIRouter:
    """``PUT``/``GET /products/{product_id}/image``: one image (or document) per product, raw body upload.

    Writing needs ``products:write`` and reading ``products:read``, as for the product itself; an unknown
    product is a 404 before any of the body is read.
    """
    router = APIRouter(prefix="/products", tags=["products"])
    Products = Annotated[ProductLookup, Depends(products)]  # noqa: N806
    Files = Annotated[FileStore, Depends(store)]  # noqa: N806
    ProductPath = Annotated[ProductId, Path(description="The product's id")]  # noqa: N806
    binary = {"schema": {"type": "string", "format": "binary", "maxLength": policy.max_bytes}}
    content = dict.fromkeys(sorted(policy.allowed_types), binary)

    @router.put(
        "/{product_id}/image",
        summary="Upload the product's image",
        dependencies=[require(PRODUCTS_WRITE)],
        openapi_extra={"requestBody": {"required": True, "content": content}},
        responses={413: {"description": "Too large"}, 415: {"description": "Type not allowed or not the content's"}},
    )
    async def put_image(
        product_id: ProductPath, request: Request, service: Products, files: Files
    ) -> ApiResponse[ImageOut]:
        _declared_type(request, policy)  # a refused type costs no lookup
        unwrap(await service.get(product_id))
        upload = await read_upload(request, policy)
        await files.save(_image_key(product_id), upload.data, upload.content_type)
        image = ImageOut(product_id=product_id, content_type=upload.content_type, size=len(upload.data))
        return ApiResponse(data=image, meta=response_meta())

    @router.get(
        "/{product_id}/image",
        summary="Download the product's image",
        dependencies=[require(PRODUCTS_READ)],
        response_class=Response,
        responses={200: {"content": {kind: {} for kind in sorted(policy.allowed_types)}}},
    )
    async def get_image(product_id: ProductPath, service: Products, files: Files) -> Response:
        unwrap(await service.get(product_id))
        stored = await files.open(_image_key(product_id))
        if stored is None:
            raise NotFoundError(f"product {product_id} has no image")
        extension = mimetypes.guess_extension(stored.content_type) or ""
        disposition = "inline" if stored.content_type.startswith("image/") else "attachment"
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": _SANDBOX,
            "Content-Disposition": f'{disposition}; filename="product-{product_id}{extension}"',
        }
        return Response(content=stored.data, media_type=stored.content_type, headers=headers)

    return router
