"""Status conditions as Kubernetes expects them: the transition time moves only when the status does."""

from __future__ import annotations

from datetime import datetime

from apibase_operator.crd.models import Condition, ConditionStatus, ConditionType

__all__ = ["set_condition"]


def set_condition(
    conditions: list[Condition],
    type_: ConditionType,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """A new list with ``type_`` set; the others are kept in their order."""
    previous = next((c for c in conditions if c.type is type_), None)
    moment = previous.last_transition_time if previous is not None and previous.status is status else now
    updated = Condition(
        type=type_,
        status=status,
        observed_generation=generation,
        reason=reason,
        message=message,
        last_transition_time=moment,
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if c.type is type_ else c for c in conditions]
