"""The stand-in's gRPC API: the SDK's own ``dapr.proto.runtime.v1`` Dapr service, the methods the kernel calls.

PublishEvent, Get/Save/DeleteState, GetSecret/GetBulkSecret and GetMetadata answer as daprd does, including its
status codes: an unknown component is ``INVALID_ARGUMENT``, an ETag conflict ``ABORTED``, a missing or wrong
``dapr-api-token`` (when the stand-in has one) ``UNAUTHENTICATED``. Every other method is the generated
servicer's ``UNIMPLEMENTED``. Like daprd, a publish's envelope gets the trace of the publish call (its gRPC
``traceparent`` metadata), not the one inside the event.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Final

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2, pubsub_pb2, secret_pb2, state_pb2
from google.protobuf import empty_pb2

from apibase.testing.dapr_sidecar.pubsub import RedisTopics, envelope
from apibase.testing.dapr_sidecar.state import EtagMismatchError, RedisStateStores

__all__ = ["StandInApi"]

type Secrets = Mapping[str, Mapping[str, Mapping[str, str]]]
_FIRST_WRITE = common_pb2.StateOptions.CONCURRENCY_FIRST_WRITE
_TRACEPARENT: Final = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})")


class StandInApi(dapr_pb2_grpc.DaprServicer):
    """Components: ``pubsubs`` and ``state_stores`` by name; ``secrets``: store → secret key → its fields."""

    def __init__(
        self,
        *,
        app_id: str,
        topics: RedisTopics,
        states: RedisStateStores,
        pubsubs: frozenset[str],
        state_stores: frozenset[str],
        secrets: Secrets,
        api_token: str | None,
    ) -> None:
        self._app_id = app_id
        self._topics = topics
        self._states = states
        self._pubsubs = pubsubs
        self._state_stores = state_stores
        self._secrets = secrets
        self._api_token = api_token

    async def _admit(self, context: grpc.aio.ServicerContext[object, object], kind: str, name: str) -> None:
        await self._authenticate(context)
        known = {"pubsub": self._pubsubs, "state store": self._state_stores, "secret store": self._secrets}[kind]
        if name not in known:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{kind} {name} is not found")

    async def PublishEvent(  # noqa: N802 - the generated servicer's name
        self, request: pubsub_pb2.PublishEventRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> empty_pb2.Empty:
        await self._admit(context, "pubsub", request.pubsub_name)
        try:
            event = envelope(
                request.data,
                request.data_content_type,
                topic=request.topic,
                pubsub=request.pubsub_name,
                app_id=self._app_id,
            )
        except (ValueError, UnicodeDecodeError) as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"error when unmarshalling the request: {error}")
        await self._topics.publish(request.pubsub_name, request.topic, {**event, **_trace_of(context)})
        return empty_pb2.Empty()

    async def GetState(  # noqa: N802
        self, request: state_pb2.GetStateRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> state_pb2.GetStateResponse:
        await self._admit(context, "state store", request.store_name)
        found = await self._states.get(request.store_name, request.key)
        if found is None:
            return state_pb2.GetStateResponse()
        data, etag = found
        return state_pb2.GetStateResponse(data=data, etag=etag)

    async def SaveState(  # noqa: N802
        self, request: state_pb2.SaveStateRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> empty_pb2.Empty:
        await self._admit(context, "state store", request.store_name)
        for item in request.states:
            try:
                await self._states.save(
                    request.store_name,
                    item.key,
                    item.value,
                    etag=item.etag.value if item.HasField("etag") else "",
                    first_write=item.options.concurrency == _FIRST_WRITE,
                    ttl=item.metadata.get("ttlInSeconds", ""),
                )
            except EtagMismatchError:
                await context.abort(grpc.StatusCode.ABORTED, f"failed saving state {item.key}: possible etag mismatch")
        return empty_pb2.Empty()

    async def DeleteState(  # noqa: N802
        self, request: state_pb2.DeleteStateRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> empty_pb2.Empty:
        await self._admit(context, "state store", request.store_name)
        try:
            etag = request.etag.value if request.HasField("etag") else ""
            await self._states.delete(request.store_name, request.key, etag=etag)
        except EtagMismatchError:
            await context.abort(grpc.StatusCode.ABORTED, f"failed deleting state {request.key}: possible etag mismatch")
        return empty_pb2.Empty()

    async def GetSecret(  # noqa: N802
        self, request: secret_pb2.GetSecretRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> secret_pb2.GetSecretResponse:
        await self._admit(context, "secret store", request.store_name)
        fields = self._secrets[request.store_name].get(request.key)
        if fields is None:
            await context.abort(
                grpc.StatusCode.INTERNAL,
                f"failed getting secret with key {request.key} from secret store {request.store_name}: not found",
            )
        return secret_pb2.GetSecretResponse(data=dict(fields or {}))

    async def GetBulkSecret(  # noqa: N802
        self, request: secret_pb2.GetBulkSecretRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> secret_pb2.GetBulkSecretResponse:
        await self._admit(context, "secret store", request.store_name)
        every = self._secrets[request.store_name]
        return secret_pb2.GetBulkSecretResponse(
            data={key: secret_pb2.SecretResponse(secrets=dict(fields)) for key, fields in every.items()}
        )

    async def GetMetadata(  # noqa: N802
        self, request: object, context: grpc.aio.ServicerContext[object, object]
    ) -> metadata_pb2.GetMetadataResponse:
        await self._authenticate(context)
        components = [
            *(
                metadata_pb2.RegisteredComponents(name=name, type="pubsub.redis", version="v1")
                for name in self._pubsubs
            ),
            *(
                metadata_pb2.RegisteredComponents(name=name, type="state.redis", version="v1", capabilities=["ETAG"])
                for name in self._state_stores
            ),
            *(
                metadata_pb2.RegisteredComponents(name=name, type="secretstores.local.env", version="v1")
                for name in self._secrets
            ),
        ]
        return metadata_pb2.GetMetadataResponse(
            id=self._app_id,
            registered_components=components,
            extended_metadata={"daprRuntimeVersion": "stand-in", "standIn": json.dumps(True)},
        )

    async def _authenticate(self, context: grpc.aio.ServicerContext[object, object]) -> None:
        if self._api_token is not None:
            sent = dict(context.invocation_metadata() or ()).get("dapr-api-token")
            if sent != self._api_token:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "authentication error: api token mismatch")


def _trace_of(context: grpc.aio.ServicerContext[object, object]) -> dict[str, object]:
    """The envelope's trace as daprd sets it: a span of its own, a child of the publish call's trace when the call
    carries one (``traceparent`` metadata), else the root of a new trace; ``tracestate`` passes through."""
    metadata = dict(context.invocation_metadata() or ())
    parent = _TRACEPARENT.fullmatch(str(metadata.get("traceparent", "")))
    trace_id, flags = (parent.group(1), parent.group(2)) if parent else (secrets.token_hex(16), "01")
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"
    trace: dict[str, object] = {"traceparent": traceparent, "traceid": traceparent}
    if state := metadata.get("tracestate"):
        trace["tracestate"] = str(state)
    return trace
