"""Round-trip assertions, usable from any test suite: serialised Results, and HTTP resources (GET → PUT back).

``assert_resources_round_trip`` reads a service's OpenAPI document and checks every resource that has a
``PUT /{collection}/{id}``, so a resource added later is covered without a test of its own: it is created from
the example its ``POST`` declares (``CrudResource.create_example``), read, changed in one field and PUT back as
it was read, read-only fields included. The answer must be 200 and show every field as sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from apibase.core.result import Result, result_from_dict

if TYPE_CHECKING:  # only annotated: the kit imports without httpx, which only the HTTP checks' callers need
    import httpx

__all__ = ["assert_resources_round_trip", "assert_result_round_trips"]

type Json = dict[str, object]


def assert_result_round_trips[T, E](
    result: Result[T, E], *, value_type: type[T] | object = object, error_type: type[E] | object = object
) -> None:
    """Serialise to a dict, through JSON text, and back: the rebuilt Result must equal the original."""
    wire = json.loads(json.dumps(result.to_dict()))
    rebuilt: Result[T, E] = result_from_dict(wire, value_type, error_type)
    if rebuilt != result:
        raise AssertionError(f"{result!r} came back as {rebuilt!r}")


async def assert_resources_round_trip(client: httpx.AsyncClient, openapi_url: str) -> list[str]:
    """Round-trip every PUT-able resource of the document at ``openapi_url``; the collection paths checked."""
    spec: Json = (await client.get(openapi_url)).raise_for_status().json()
    servers = spec.get("servers")
    base = str(servers[0]["url"]) if isinstance(servers, list) and servers else ""
    paths = _mapping(spec["paths"])
    checked: list[str] = []
    for path, operations in paths.items():
        if "put" in _mapping(operations) and path.endswith("}"):
            collection = path.rsplit("/", 1)[0]
            example = _create_example(_mapping(paths.get(collection, {})), collection)
            body_schema = _resolve(spec, _body_schema(_mapping(_mapping(operations)["put"])))
            await _round_trip(client, base + collection, example, body_schema, spec)
            checked.append(collection)
    return checked


async def _round_trip(client: httpx.AsyncClient, collection: str, example: Json, schema: Json, spec: Json) -> None:
    created = await client.post(collection, json=example)
    assert created.status_code == 201, f"POST {collection} with its own example: {created.text}"
    url = created.headers["location"]
    read = await client.get(url)
    assert read.status_code == 200, f"GET {url}: {read.text}"
    representation = _mapping(read.json()["data"])
    properties = _mapping(schema.get("properties", {}))
    read_only = {name for name, item in properties.items() if _resolve(spec, _mapping(item)).get("readOnly")}
    assert set(representation) <= set(properties), f"PUT {url} cannot take back {set(representation) - set(properties)}"
    sent = {**representation, **_one_change(representation, properties, read_only, spec)}

    replaced = await client.put(url, json=sent, headers={"If-Match": read.headers["etag"]})

    assert replaced.status_code == 200, f"PUT {url} with the body GET returned (one field changed): {replaced.text}"
    shown = _mapping(replaced.json()["data"])
    writable = set(sent) - read_only
    assert {name: shown[name] for name in writable} == {name: sent[name] for name in writable}, f"PUT {url}"
    assert (await client.get(url)).json()["data"] == shown, f"GET {url} after PUT"


def _one_change(representation: Json, properties: Json, read_only: set[str], spec: Json) -> Json:
    """A different, still valid value for one writable field: free text gets a suffix, else a flag flips."""
    for name, item in properties.items():
        schema, value = _resolve(spec, _mapping(item)), representation.get(name)
        if name in read_only or not isinstance(value, str) or schema.get("type") != "string":
            continue
        if not {"pattern", "format", "enum", "const"} & set(schema):
            limit = schema.get("maxLength")
            changed = f"{value} (edited)"
            if not isinstance(limit, int) or len(changed) <= limit:
                return {name: changed}
    for name, value in representation.items():
        if name not in read_only and isinstance(value, bool):
            return {name: not value}
    return {}


def _create_example(collection: Json, path: str) -> Json:
    content = _mapping(_mapping(collection.get("post", {})).get("requestBody", {})).get("content", {})
    media = _mapping(_mapping(content).get("application/json", {}))
    schema = _mapping(media.get("schema", {}))
    named = _mapping(media.get("examples", {})).values()
    examples = schema.get("examples") or [_mapping(item).get("value") for item in named]
    if not isinstance(examples, list) or not examples or not isinstance(examples[0], dict):
        raise AssertionError(f"POST {path} declares no request example to create one from (create_example)")
    return dict(examples[0])


def _body_schema(operation: Json) -> Json:
    content = _mapping(_mapping(operation["requestBody"])["content"])
    return _mapping(_mapping(content["application/json"])["schema"])


def _resolve(spec: Json, schema: Json) -> Json:
    """Follow ``$ref`` (and a single-member ``allOf``) to the schema itself."""
    while True:
        if isinstance(reference := schema.get("$ref"), str):
            node: object = spec
            for part in reference.removeprefix("#/").split("/"):
                node = _mapping(node)[part]
            schema = _mapping(node)
        elif isinstance(members := schema.get("allOf"), list) and len(members) == 1:
            schema = _mapping(members[0])
        else:
            return schema


def _mapping(value: object) -> Json:
    assert isinstance(value, Mapping), f"expected an object in the OpenAPI document, got {value!r}"
    return dict(value)
