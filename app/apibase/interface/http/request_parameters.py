"""What every operation of a versioned API checks before its own parameters: the request names only what it declares.

Two checks that need the matched route, so they run as a dependency of every operation (``build_version_app``
adds it) rather than in a middleware:

- **Unknown query parameters are refused** (422, one error per name, ``["query", name]``), on every operation, not
  only on lists. On a list a misspelt filter (``?price__gt=5``, ``?stok=1``) would otherwise answer with the whole
  collection as if it had been applied; on a read or a write it would silently do nothing (``?hard=true``). The
  problem's detail lists what the operation accepts, and each error suggests the closest accepted name.
- **A path parameter holding U+0000** is refused with the same problem as ``StorableTextMiddleware`` gives for
  queries, headers and bodies, now that the parameter has a name (``["path", "entity_id"]``).

Public API: ``check_request_parameters(request)`` (a FastAPI dependency), ``accepted_query_parameters(route)``.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Final

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from apibase.core.errors import FieldError, ValidationFailed
from apibase.interface.http.middleware.storable_text import UNSTORABLE_CHARACTER, unstorable_text

__all__ = ["accepted_query_parameters", "check_request_parameters"]

_UNKNOWN_TYPE: Final = "query.unknown_parameter"


async def check_request_parameters(request: Request) -> None:
    """Refuse a NUL in a path parameter, then any query parameter the matched operation does not declare."""
    nul = [("path", name) for name, value in request.path_params.items() if UNSTORABLE_CHARACTER in str(value)]
    if nul:
        raise unstorable_text(nul)
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = accepted_query_parameters(route)
    unknown = sorted({name for name in request.query_params if name not in accepted})
    if unknown:
        raise ValidationFailed.from_field_errors(
            [_unknown(name, accepted) for name in unknown], _detail(unknown, accepted)
        )


def accepted_query_parameters(route: APIRoute) -> frozenset[str]:
    """Every query parameter the operation declares, its dependencies' included (as the client spells them).

    A walk over a handful of dependants: cheaper than a cache keyed on routes, which FastAPI makes unhashable.
    """
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        for parameter in dependant.query_params:
            model = parameter.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):  # a model of query parameters
                names |= {info.alias or name for name, info in model.model_fields.items()}
            else:
                names.add(parameter.alias)
        pending.extend(dependant.dependencies)
    return frozenset(names)


def _unknown(name: str, accepted: frozenset[str]) -> FieldError:
    close = get_close_matches(name, sorted(accepted), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return FieldError(loc=("query", name), message=f"unknown query parameter{hint}", type=_UNKNOWN_TYPE)


def _detail(unknown: list[str], accepted: frozenset[str]) -> str:
    refused = f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
    if not accepted:
        return f"{refused} This operation takes no query parameters."
    operators = sorted({f"__{name.rpartition('__')[2]}" for name in accepted if "__" in name})
    filters = (
        f" A filter is a field name for equality, or the field with one of {', '.join(operators)}." if operators else ""
    )
    return f"{refused} Accepted: {', '.join(sorted(accepted))}.{filters}"
