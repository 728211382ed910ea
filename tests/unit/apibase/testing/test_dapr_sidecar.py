"""The stand-in sidecar's pure parts: reading an app's subscriptions and building the envelope daprd delivers."""

import json

import pytest

from apibase.testing.dapr_sidecar.pubsub import envelope
from apibase.testing.dapr_sidecar.subscriptions import AppSubscription, parse_subscriptions

pytestmark = pytest.mark.unit


def test_v1_and_v2_subscriptions_are_read_with_rules_default_and_dead_letter_topic() -> None:
    announced = [
        {"pubsubname": "pubsub", "topic": "a", "route": "/a"},
        {
            "pubsubname": "pubsub",
            "topic": "b",
            "routes": {"rules": [{"match": 'event.type == "x.Placed"', "path": "/placed"}], "default": "/other"},
            "deadLetterTopic": "b.dead-letter",
        },
        {"pubsubname": "pubsub", "topic": "c", "routes": {"rules": [{"match": "event.type == 'x'", "path": "/x"}]}},
        {"pubsubname": "pubsub", "topic": "d", "routes": {"rules": [{"match": "event.source == 'x'", "path": "/x"}]}},
    ]
    with pytest.raises(ValueError, match=r"only `event\.type"):
        parse_subscriptions(announced)
    a, b, c = parse_subscriptions(announced[:3])
    assert c.rules == (("x", "/x"),)
    assert a == AppSubscription("pubsub", "a", (), "/a", None)
    assert b == AppSubscription("pubsub", "b", (("x.Placed", "/placed"),), "/other", "b.dead-letter")
    assert (b.path_for("x.Placed"), b.path_for("x.Other")) == ("/placed", "/other")


def test_a_subscription_without_a_route_or_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="no route"):
        parse_subscriptions([{"pubsubname": "pubsub", "topic": "a"}])
    with pytest.raises(ValueError, match="needs pubsubname and topic"):
        parse_subscriptions([{"pubsubname": "pubsub", "route": "/a"}])
    with pytest.raises(TypeError, match="JSON array"):
        parse_subscriptions({"topic": "a"})
    assert AppSubscription("p", "t", (("x", "/x"),), None, None).path_for("y") is None


def test_a_structured_cloud_event_is_kept_and_only_gains_topic_and_pubsub() -> None:
    event = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "tenantid": "acme", "data": {"a": 1}}
    data = json.dumps(event).encode()
    delivered = envelope(data, "application/cloudevents+json", topic="orders", pubsub="pubsub", app_id="shop")
    assert delivered == {**event, "topic": "orders", "pubsubname": "pubsub"}
    with pytest.raises(ValueError, match="needs id, source and type"):
        envelope(b'{"id": "1"}', "application/cloudevents+json", topic="t", pubsub="p", app_id="shop")


def test_other_data_is_wrapped_in_a_new_cloud_event() -> None:
    wrapped = envelope(b'{"a": 1}', "application/json", topic="t", pubsub="p", app_id="shop")
    assert (wrapped["type"], wrapped["source"], wrapped["data"]) == ("com.dapr.event.sent", "shop", {"a": 1})
    text = envelope(b"hello", "text/plain", topic="t", pubsub="p", app_id="shop")
    assert (text["datacontenttype"], text["data"]) == ("text/plain", "hello")
