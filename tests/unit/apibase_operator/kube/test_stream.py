"""Watch streams: newline-delimited JSON however the chunks fall, and an HTTP error as a StreamError."""

from __future__ import annotations

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from apibase_operator.kube.stream import StreamError, _lines, watch_events

pytestmark = pytest.mark.unit


def test_lines_are_split_across_chunks_and_blank_lines_skipped() -> None:
    chunks = [b'{"type": "ADD', b'ED"}\n{"type": "MODIFIED"}\n\n{"type"', b': "DELETED"}']
    assert list(_lines(iter(chunks))) == [b'{"type": "ADDED"}', b'{"type": "MODIFIED"}', b'{"type": "DELETED"}']


async def test_a_refused_watch_raises_with_the_status(kmock: kmock.KubernetesEmulator) -> None:
    kmock["get /api/v1/gone"] << 410
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    try:
        with pytest.raises(StreamError) as refused:
            async for _ in watch_events(api, "/api/v1/gone?watch=true", 5.0):
                pass  # pragma: no cover - nothing arrives
    finally:
        api.close()
    assert refused.value.status == 410
