"""What an app announces on ``GET /dapr/subscribe`` (Dapr's programmatic subscriptions), read as daprd reads it.

Both formats are accepted: v1 (``route``) and v2 (``routes: {rules: [{match, path}], default}``), with an
optional ``deadLetterTopic``. Rules are CEL expressions in daprd; the stand-in evaluates the form the kernel
announces, ``event.type == "<type>"`` (either quote), and refuses any other (``ValueError``; a malformed list is
``TypeError``) rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["AppSubscription", "parse_subscriptions"]

_TYPE_RULE: Final = re.compile(r"""^\s*event\.type\s*==\s*(?:"([^"\\]+)"|'([^'\\]+)')\s*$""")


@dataclass(frozen=True, slots=True)
class AppSubscription:
    pubsub: str
    topic: str
    #: (CloudEvents type, path), in the order announced: the first match wins.
    rules: tuple[tuple[str, str], ...]
    default: str | None
    dead_letter_topic: str | None

    def path_for(self, event_type: str) -> str | None:
        """The route an event of ``event_type`` is POSTed to; ``None``: no rule and no default (not delivered)."""
        return next((path for rule_type, path in self.rules if rule_type == event_type), self.default)


def parse_subscriptions(announced: object) -> list[AppSubscription]:
    if not isinstance(announced, list):
        raise TypeError("GET /dapr/subscribe must answer a JSON array")
    return [_parse_one(entry) for entry in announced]


def _parse_one(entry: object) -> AppSubscription:
    if not isinstance(entry, dict):
        raise TypeError(f"a subscription is an object, not {entry!r}")
    pubsub, topic = entry.get("pubsubname"), entry.get("topic")
    if not isinstance(pubsub, str) or not isinstance(topic, str) or not pubsub or not topic:
        raise ValueError(f"a subscription needs pubsubname and topic: {entry!r}")
    rules: list[tuple[str, str]] = []
    default = entry.get("route")
    routes = entry.get("routes")
    if isinstance(routes, dict):
        default = routes.get("default", default)
        for rule in routes.get("rules") or ():
            matched = _TYPE_RULE.match(str(rule.get("match", ""))) if isinstance(rule, dict) else None
            if matched is None or not isinstance(rule.get("path"), str):
                raise ValueError(f'the stand-in evaluates only `event.type == "<type>"` rules with a path: {rule!r}')
            rules.append((matched.group(1) or matched.group(2), rule["path"]))
    if default is not None and not isinstance(default, str):
        raise ValueError(f"a route is a path: {default!r}")
    if not rules and default is None:
        raise ValueError(f"subscription to {topic!r} announces no route")
    dead_letter = entry.get("deadLetterTopic")
    return AppSubscription(pubsub, topic, tuple(rules), default, dead_letter if isinstance(dead_letter, str) else None)
