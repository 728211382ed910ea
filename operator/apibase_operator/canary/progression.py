"""The canary state machine: from spec, status, clock and (maybe) one analysis result to what to do next.

It is pure — no I/O, no clock of its own — so every path, including a whole progression, is tested with a fake
clock, and the reconciler stays a thin loop: read status, call ``next_canary_state``, run the analysis when told
to (``ANALYZE``) and call again, apply ``decision.weight``, persist ``decision.status`` and the conditions, requeue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from apibase_operator.canary.analysis import AnalysisResult
from apibase_operator.crd.models import Canary, Condition, ConditionStatus, ConditionType

__all__ = ["CanaryAction", "CanaryDecision", "CanaryReason", "CanaryStatus", "ConditionUpdate", "next_canary_state"]


class CanaryAction(StrEnum):
    """What the reconciler does; whatever the action, it routes ``decision.weight`` percent to the canary."""

    NONE = "none"  #: no canary in flight (none configured, already stable, or rolled back and not retried)
    START = "start"  #: create the canary objects for a new canary image at the first step's weight
    WAIT = "wait"  #: the step interval has not elapsed (or a passed canary awaits manual promotion); requeue
    ANALYZE = "analyze"  #: the interval elapsed: run the analysis now and call again with its result
    ADVANCE = "advance"  #: move to the next step's weight
    PROMOTE = "promote"  #: run the canary image as stable, remove the canary objects, weight 0
    ROLLBACK = "rollback"  #: weight 0, remove the canary objects, keep stable (failed, or withdrawn from the spec)


class CanaryReason(StrEnum):
    """Condition reasons set here; a failed step uses the analysis reason (``AnalysisReason``) instead."""

    STARTED = "CanaryStarted"
    ADVANCED = "CanaryAdvanced"
    STEP_ELAPSED = "StepElapsed"
    AWAITING_PROMOTION = "AwaitingPromotion"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    REMOVED = "CanaryRemoved"


@dataclass(frozen=True, slots=True)
class CanaryStatus:
    """The canary part of the status, as the state machine needs it.

    ``image`` is the canary image in flight when ``active``; when not active it is the last canary image that
    finished (promoted or rolled back), which is what keeps a failed image from being retried until the spec's
    canary image changes or the canary is removed from the spec. An active canary always has a weight of at least
    1 (steps start at 1), so ``active`` is ``weight > 0`` for a status this module wrote.
    """

    weight: int = 0
    step: int = 0
    step_started_at: datetime | None = None
    active: bool = False
    image: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 100:
            raise ValueError(f"canary weight must be within 0..100, got {self.weight}")
        if self.step < 0:
            raise ValueError(f"canary step must not be negative, got {self.step}")


@dataclass(frozen=True, slots=True)
class ConditionUpdate:
    """A condition to set; the caller adds the generation and the transition time (see ``to_condition``)."""

    type: ConditionType
    status: ConditionStatus
    reason: str
    message: str

    def to_condition(self, *, generation: int, now: datetime, previous: Condition | None = None) -> Condition:
        """``lastTransitionTime`` moves only when the status flips, as the Kubernetes API conventions ask."""
        transition = now
        if previous is not None and previous.type == self.type and previous.status == self.status:
            transition = previous.last_transition_time
        return Condition(
            type=self.type,
            status=self.status,
            observed_generation=generation,
            reason=self.reason,
            message=self.message,
            last_transition_time=transition,
        )


@dataclass(frozen=True, slots=True)
class CanaryDecision:
    """What to do now and what to remember; a condition left ``None`` stays as it is."""

    action: CanaryAction
    status: CanaryStatus
    canary_healthy: ConditionUpdate | None = None
    progressing: ConditionUpdate | None = None
    requeue_after_seconds: float | None = None

    @property
    def weight(self) -> int:
        """Percent of traffic to route to the canary, 0..100."""
        return self.status.weight

    @property
    def step(self) -> int:
        return self.status.step

    @property
    def step_started_at(self) -> datetime | None:
        return self.status.step_started_at

    @property
    def conditions(self) -> tuple[ConditionUpdate, ...]:
        return tuple(c for c in (self.canary_healthy, self.progressing) if c is not None)


def _healthy(status: ConditionStatus, reason: str, message: str) -> ConditionUpdate:
    return ConditionUpdate(ConditionType.CANARY_HEALTHY, status, reason, message)


def _progressing(status: ConditionStatus, reason: str, message: str) -> ConditionUpdate:
    return ConditionUpdate(ConditionType.PROGRESSING, status, reason, message)


def next_canary_state(
    canary: Canary | None,
    status: CanaryStatus,
    now: datetime,
    analysis: AnalysisResult | None,
    *,
    stable_image: str,
) -> CanaryDecision:
    """Decide the next canary move.

    ``stable_image`` is the image the stable Deployment runs now (after a promotion, the promoted image, even if
    ``spec.image`` still names the old one). ``analysis`` is ignored unless the step interval has elapsed and the
    spec configures an analysis: a stale or early result can never move a canary. ``now`` and
    ``status.step_started_at`` must both be timezone-aware (or both naive).
    """
    if canary is None or canary.image == stable_image:
        return _without_canary(status, stable_image)
    if not status.active and status.image == canary.image:
        return CanaryDecision(CanaryAction.NONE, CanaryStatus(image=canary.image))
    if not status.active or status.image != canary.image:
        return _start(canary, now)
    return _progress(canary, status, now, analysis)


def _without_canary(status: CanaryStatus, stable_image: str) -> CanaryDecision:
    """No canary wanted: a canary in flight is either already stable (promoted by hand) or withdrawn."""
    if not status.active:
        return CanaryDecision(CanaryAction.NONE, CanaryStatus())
    if status.image == stable_image:
        message = f"canary {status.image} is the stable image now"
        return CanaryDecision(
            CanaryAction.PROMOTE,
            CanaryStatus(image=status.image),
            _healthy(ConditionStatus.TRUE, CanaryReason.PROMOTED, message),
            _progressing(ConditionStatus.FALSE, CanaryReason.PROMOTED, message),
        )
    message = f"canary {status.image} was removed from the spec; all traffic goes to stable {stable_image}"
    return CanaryDecision(
        CanaryAction.ROLLBACK,
        CanaryStatus(),
        _healthy(ConditionStatus.UNKNOWN, CanaryReason.REMOVED, message),
        _progressing(ConditionStatus.FALSE, CanaryReason.REMOVED, message),
    )


def _start(canary: Canary, now: datetime) -> CanaryDecision:
    """A new canary image (or one replaced mid-flight) starts over at the first step."""
    weight = canary.steps[0]
    message = f"canary {canary.image} started at {weight}% (step 1/{len(canary.steps)})"
    return CanaryDecision(
        CanaryAction.START,
        CanaryStatus(weight=weight, step=0, step_started_at=now, active=True, image=canary.image),
        _healthy(ConditionStatus.UNKNOWN, CanaryReason.STARTED, message),
        _progressing(ConditionStatus.TRUE, CanaryReason.STARTED, message),
        float(canary.step_interval_seconds),
    )


def _progress(canary: Canary, status: CanaryStatus, now: datetime, analysis: AnalysisResult | None) -> CanaryDecision:
    """A canary in flight: wait out the interval, have it analysed, then advance, promote, hold or roll back."""
    steps, interval = canary.steps, canary.step_interval_seconds
    last = len(steps) - 1
    step = min(status.step, last)  # the spec may have lost steps mid-flight
    weight = steps[step]
    # A lost start time restarts the step's clock rather than guessing that it elapsed.
    started = status.step_started_at if status.step_started_at is not None else now
    current = CanaryStatus(weight=weight, step=step, step_started_at=started, active=True, image=canary.image)
    elapsed = (now - started).total_seconds()
    if elapsed < interval:
        # min(): a clock that went backwards must not push the requeue further out than one interval.
        return CanaryDecision(CanaryAction.WAIT, current, requeue_after_seconds=min(interval - elapsed, interval))
    where = f"step {step + 1}/{len(steps)} at {weight}%"
    if canary.analysis is None:
        healthy = _healthy(ConditionStatus.TRUE, CanaryReason.STEP_ELAPSED, f"{where} held {interval}s (no analysis)")
    elif analysis is None:
        return CanaryDecision(CanaryAction.ANALYZE, current)
    elif not analysis.passed:
        return CanaryDecision(
            CanaryAction.ROLLBACK,
            CanaryStatus(image=canary.image),
            _healthy(ConditionStatus.FALSE, analysis.reason, analysis.message),
            _progressing(
                ConditionStatus.FALSE,
                CanaryReason.ROLLED_BACK,
                f"canary {canary.image} rolled back at {where}: {analysis.message}",
            ),
        )
    else:
        healthy = _healthy(ConditionStatus.TRUE, analysis.reason, f"{where}: {analysis.message}")
    if step < last:
        following = steps[step + 1]
        return CanaryDecision(
            CanaryAction.ADVANCE,
            CanaryStatus(weight=following, step=step + 1, step_started_at=now, active=True, image=canary.image),
            healthy,
            _progressing(
                ConditionStatus.TRUE,
                CanaryReason.ADVANCED,
                f"canary {canary.image} at {following}% (step {step + 2}/{len(steps)})",
            ),
            float(interval),
        )
    if canary.auto_promote:
        message = f"canary {canary.image} promoted to stable after {len(steps)} steps"
        return CanaryDecision(
            CanaryAction.PROMOTE,
            CanaryStatus(image=canary.image),
            healthy,
            _progressing(ConditionStatus.FALSE, CanaryReason.PROMOTED, message),
        )
    # Held at the last weight until someone promotes by hand; it keeps being analysed every interval meanwhile.
    return CanaryDecision(
        CanaryAction.WAIT,
        CanaryStatus(weight=weight, step=step, step_started_at=now, active=True, image=canary.image),
        healthy,
        _progressing(
            ConditionStatus.TRUE,
            CanaryReason.AWAITING_PROMOTION,
            f"canary {canary.image} passed every step and holds {weight}%; promote it by setting spec.image to it",
        ),
        float(interval),
    )
