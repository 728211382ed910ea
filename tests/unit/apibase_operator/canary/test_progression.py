"""The canary state machine, driven with a fake clock: no cluster, no Prometheus, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apibase_operator.canary import (
    AnalysisReason,
    AnalysisResult,
    CanaryAction,
    CanaryDecision,
    CanaryReason,
    CanaryStatus,
    ConditionUpdate,
    next_canary_state,
)
from apibase_operator.crd.models import Canary, CanaryAnalysis, Condition, ConditionStatus, ConditionType

pytestmark = pytest.mark.unit

STABLE = "ghcr.io/acme/orders:1.0.0"
NEW = "ghcr.io/acme/orders:1.1.0"
NEWER = "ghcr.io/acme/orders:1.2.0"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ANALYSIS = CanaryAnalysis(prometheus_url="http://prometheus:9090", query="error_rate", max_value=0.05)
PASS = AnalysisResult(passed=True, value=0.01, reason=AnalysisReason.PASSED, message="value 0.01 is within bounds")
FAIL = AnalysisResult(
    passed=False, value=0.2, reason=AnalysisReason.THRESHOLD_EXCEEDED, message="value 0.2 is above maxValue 0.05"
)


def canary(**overrides: object) -> Canary:
    fields: dict[str, object] = {"image": NEW, "steps": [10, 50, 100], "step_interval_seconds": 60}
    fields.update(overrides)
    return Canary.model_validate(fields)


def decide(
    spec: Canary | None, status: CanaryStatus, now: datetime, analysis: AnalysisResult | None = None
) -> CanaryDecision:
    return next_canary_state(spec, status, now, analysis, stable_image=STABLE)


class Clock:
    """A fake clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = T0

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def test_a_whole_progression_with_analysis_starts_waits_analyzes_advances_and_promotes() -> None:
    spec, clock = canary(analysis=ANALYSIS), Clock()

    started = decide(spec, CanaryStatus(), clock.now)
    assert started.action is CanaryAction.START
    assert (started.weight, started.step, started.step_started_at) == (10, 0, T0)
    assert started.status == CanaryStatus(weight=10, step=0, step_started_at=T0, active=True, image=NEW)
    assert started.requeue_after_seconds == 60
    assert started.canary_healthy is not None
    assert started.canary_healthy.status is ConditionStatus.UNKNOWN
    assert started.progressing == ConditionUpdate(
        ConditionType.PROGRESSING, ConditionStatus.TRUE, CanaryReason.STARTED, f"canary {NEW} started at 10% (step 1/3)"
    )

    status = started.status
    for step, weight in enumerate([10, 50]):
        waiting = decide(spec, status, clock.tick(45), PASS)  # an early result is ignored
        assert waiting.action is CanaryAction.WAIT
        assert waiting.status == status
        assert waiting.requeue_after_seconds == 15
        assert waiting.conditions == ()

        asked = decide(spec, status, clock.tick(15))
        assert asked.action is CanaryAction.ANALYZE
        assert asked.status == status
        assert asked.requeue_after_seconds is None

        advanced = decide(spec, status, clock.now, PASS)
        assert advanced.action is CanaryAction.ADVANCE
        assert advanced.status == CanaryStatus(
            weight=[50, 100][step], step=step + 1, step_started_at=clock.now, active=True, image=NEW
        )
        assert advanced.canary_healthy == ConditionUpdate(
            ConditionType.CANARY_HEALTHY,
            ConditionStatus.TRUE,
            "AnalysisPassed",
            f"step {step + 1}/3 at {weight}%: value 0.01 is within bounds",
        )
        assert advanced.progressing is not None
        assert advanced.progressing.reason == "CanaryAdvanced"
        assert advanced.requeue_after_seconds == 60
        status = advanced.status

    assert decide(spec, status, clock.tick(60)).action is CanaryAction.ANALYZE
    promoted = decide(spec, status, clock.now, PASS)
    assert promoted.action is CanaryAction.PROMOTE
    assert promoted.weight == 0
    assert promoted.status == CanaryStatus(image=NEW)
    assert promoted.progressing is not None
    assert (promoted.progressing.status, promoted.progressing.reason) == (ConditionStatus.FALSE, "Promoted")
    assert promoted.canary_healthy is not None
    assert promoted.canary_healthy.status is ConditionStatus.TRUE

    # Once the stable Deployment runs the promoted image there is nothing left to do...
    settled = next_canary_state(spec, promoted.status, clock.tick(5), None, stable_image=NEW)
    assert settled == CanaryDecision(CanaryAction.NONE, CanaryStatus())
    # ...and a caller that still passes the old stable image does not restart the same canary.
    assert decide(spec, promoted.status, clock.now).action is CanaryAction.NONE


def test_a_failed_analysis_rolls_back_and_the_same_image_is_not_retried() -> None:
    spec = canary(analysis=ANALYSIS)
    at_50 = CanaryStatus(weight=50, step=1, step_started_at=T0, active=True, image=NEW)
    later = T0 + timedelta(seconds=60)

    rolled = decide(spec, at_50, later, FAIL)

    assert rolled.action is CanaryAction.ROLLBACK
    assert rolled.weight == 0
    assert rolled.status == CanaryStatus(image=NEW)
    assert rolled.canary_healthy == ConditionUpdate(
        ConditionType.CANARY_HEALTHY, ConditionStatus.FALSE, "ThresholdExceeded", "value 0.2 is above maxValue 0.05"
    )
    assert rolled.progressing is not None
    assert rolled.progressing.status is ConditionStatus.FALSE
    assert rolled.progressing.reason == "RolledBack"
    assert "at step 2/3 at 50%" in rolled.progressing.message
    assert rolled.requeue_after_seconds is None

    held = decide(spec, rolled.status, later + timedelta(hours=1), PASS)
    assert held == CanaryDecision(CanaryAction.NONE, CanaryStatus(image=NEW))

    retried = decide(canary(image=NEWER, analysis=ANALYSIS), rolled.status, later)
    assert retried.action is CanaryAction.START
    assert retried.status.image == NEWER


@pytest.mark.parametrize(
    "reason",
    [AnalysisReason.NO_DATA, AnalysisReason.PROMETHEUS_UNAVAILABLE, AnalysisReason.QUERY_FAILED],
)
def test_any_failed_analysis_rolls_back_with_its_reason(reason: AnalysisReason) -> None:
    status = CanaryStatus(weight=10, step=0, step_started_at=T0, active=True, image=NEW)
    failed = AnalysisResult(passed=False, value=None, reason=reason, message="no")

    decision = decide(canary(analysis=ANALYSIS), status, T0 + timedelta(minutes=5), failed)

    assert decision.action is CanaryAction.ROLLBACK
    assert decision.canary_healthy is not None
    assert decision.canary_healthy.reason == reason


def test_without_analysis_a_canary_advances_on_time_alone() -> None:
    spec, clock = canary(steps=[20, 60]), Clock()
    status = decide(spec, CanaryStatus(), clock.now).status

    assert decide(spec, status, clock.tick(59)).action is CanaryAction.WAIT
    advanced = decide(spec, status, clock.tick(1), FAIL)  # a result without configured analysis is ignored
    assert advanced.action is CanaryAction.ADVANCE
    assert advanced.weight == 60
    assert advanced.canary_healthy is not None
    assert advanced.canary_healthy.reason == "StepElapsed"
    assert advanced.canary_healthy.message == "step 1/2 at 20% held 60s (no analysis)"

    promoted = decide(spec, advanced.status, clock.tick(60))
    assert promoted.action is CanaryAction.PROMOTE
    assert promoted.weight == 0


def test_without_auto_promote_a_passed_canary_holds_its_last_weight_until_promoted_by_hand() -> None:
    spec, clock = canary(steps=[30, 80], auto_promote=False, analysis=ANALYSIS), Clock()
    at_last = CanaryStatus(weight=80, step=1, step_started_at=T0, active=True, image=NEW)

    held = decide(spec, at_last, clock.tick(60), PASS)

    assert held.action is CanaryAction.WAIT
    assert held.status == CanaryStatus(weight=80, step=1, step_started_at=clock.now, active=True, image=NEW)
    assert held.progressing is not None
    assert (held.progressing.status, held.progressing.reason) == (ConditionStatus.TRUE, "AwaitingPromotion")
    assert held.requeue_after_seconds == 60
    # While held it is still analysed every interval, and still rolled back when it goes bad.
    assert decide(spec, held.status, clock.tick(30)).action is CanaryAction.WAIT
    assert decide(spec, held.status, clock.tick(30)).action is CanaryAction.ANALYZE
    assert decide(spec, held.status, clock.now, FAIL).action is CanaryAction.ROLLBACK

    # Promotion by hand: spec.image (hence the stable image) becomes the canary image.
    by_hand = next_canary_state(spec, held.status, clock.now, None, stable_image=NEW)
    assert by_hand.action is CanaryAction.PROMOTE
    assert by_hand.weight == 0
    assert by_hand.canary_healthy is not None
    assert by_hand.canary_healthy.reason == "Promoted"


def test_a_canary_removed_from_the_spec_mid_flight_goes_to_weight_zero_and_is_removed() -> None:
    status = CanaryStatus(weight=50, step=1, step_started_at=T0, active=True, image=NEW)

    removed = decide(None, status, T0 + timedelta(seconds=5))

    assert removed.action is CanaryAction.ROLLBACK
    assert removed.weight == 0
    assert removed.status == CanaryStatus()
    assert removed.canary_healthy is not None
    assert (removed.canary_healthy.status, removed.canary_healthy.reason) == (ConditionStatus.UNKNOWN, "CanaryRemoved")
    assert decide(None, removed.status, T0) == CanaryDecision(CanaryAction.NONE, CanaryStatus())


def test_removing_the_canary_forgets_a_rolled_back_image_so_it_can_be_retried() -> None:
    forgotten = decide(None, CanaryStatus(image=NEW), T0)

    assert forgotten == CanaryDecision(CanaryAction.NONE, CanaryStatus())
    assert decide(canary(), forgotten.status, T0).action is CanaryAction.START


def test_a_canary_image_equal_to_the_stable_image_is_nothing_to_do() -> None:
    decision = decide(canary(image=STABLE), CanaryStatus(), T0)

    assert decision == CanaryDecision(CanaryAction.NONE, CanaryStatus())
    assert decision.conditions == ()


def test_a_canary_image_replaced_mid_flight_starts_over_at_the_first_step() -> None:
    status = CanaryStatus(weight=50, step=1, step_started_at=T0, active=True, image=NEW)

    restarted = decide(canary(image=NEWER), status, T0 + timedelta(seconds=10))

    assert restarted.action is CanaryAction.START
    assert restarted.status == CanaryStatus(
        weight=10, step=0, step_started_at=T0 + timedelta(seconds=10), active=True, image=NEWER
    )


def test_steps_shortened_mid_flight_clamp_to_the_last_step() -> None:
    status = CanaryStatus(weight=50, step=3, step_started_at=T0, active=True, image=NEW)

    decision = decide(canary(steps=[5, 40]), status, T0 + timedelta(seconds=1))

    assert decision.action is CanaryAction.WAIT
    assert (decision.weight, decision.step) == (40, 1)


def test_a_lost_step_start_restarts_the_step_clock() -> None:
    status = CanaryStatus(weight=10, step=0, step_started_at=None, active=True, image=NEW)

    decision = decide(canary(analysis=ANALYSIS), status, T0, PASS)

    assert decision.action is CanaryAction.WAIT
    assert decision.step_started_at == T0
    assert decision.requeue_after_seconds == 60


def test_a_clock_that_went_backwards_never_requeues_later_than_one_interval() -> None:
    status = CanaryStatus(weight=10, step=0, step_started_at=T0, active=True, image=NEW)

    decision = decide(canary(), status, T0 - timedelta(hours=1))

    assert decision.action is CanaryAction.WAIT
    assert decision.requeue_after_seconds == 60


@pytest.mark.parametrize(("weight", "step"), [(-1, 0), (101, 0), (0, -1)])
def test_a_status_outside_the_bounds_is_refused(weight: int, step: int) -> None:
    with pytest.raises(ValueError, match="canary"):
        CanaryStatus(weight=weight, step=step)


def test_a_condition_update_keeps_its_transition_time_while_the_status_holds() -> None:
    update = ConditionUpdate(ConditionType.CANARY_HEALTHY, ConditionStatus.TRUE, "AnalysisPassed", "ok")
    later = T0 + timedelta(minutes=1)

    first = update.to_condition(generation=3, now=T0)
    same = update.to_condition(generation=4, now=later, previous=first)
    flipped = ConditionUpdate(ConditionType.CANARY_HEALTHY, ConditionStatus.FALSE, "NoData", "none").to_condition(
        generation=4, now=later, previous=first
    )
    other_type = Condition(
        type=ConditionType.READY,
        status=ConditionStatus.TRUE,
        observed_generation=1,
        reason="Ready",
        message="",
        last_transition_time=T0,
    )

    assert (first.observed_generation, first.last_transition_time, first.reason) == (3, T0, "AnalysisPassed")
    assert (same.observed_generation, same.last_transition_time) == (4, T0)
    assert flipped.last_transition_time == later
    assert update.to_condition(generation=4, now=later, previous=other_type).last_transition_time == later


# --- property: whatever the clock and Prometheus do, weights stay within 0..100 -------------------------------------

_specs = st.builds(
    lambda steps, interval, auto_promote, analysed: Canary(
        image=NEW,
        steps=sorted(steps),
        step_interval_seconds=interval,
        auto_promote=auto_promote,
        analysis=ANALYSIS if analysed else None,
    ),
    st.sets(st.integers(1, 100), min_size=1, max_size=6),
    st.integers(5, 600),
    st.booleans(),
    st.booleans(),
)
_events = st.lists(
    st.tuples(
        st.floats(min_value=-30, max_value=1200, allow_nan=False),  # seconds; negative: the clock went back
        st.sampled_from([PASS, FAIL]),
        st.sampled_from(["keep", "keep", "keep", "remove", "replace"]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(spec=_specs, events=_events)
def test_weights_stay_within_0_and_100_for_any_sequence_of_clock_and_analysis(
    spec: Canary, events: list[tuple[float, AnalysisResult, str]]
) -> None:
    now, status, stable, current = T0, CanaryStatus(), STABLE, spec
    allowed = {0, *spec.steps}
    for seconds, result, edit in events:
        now += timedelta(seconds=seconds)
        if edit == "remove":
            current = None
        elif edit == "replace":
            current = spec.model_copy(update={"image": NEWER if current is not None and current.image == NEW else NEW})
        elif current is None:
            current = spec
        decision = next_canary_state(current, status, now, None, stable_image=stable)
        if decision.action is CanaryAction.ANALYZE:
            assert decision.status == status
            decision = next_canary_state(current, status, now, result, stable_image=stable)
            assert decision.action is not CanaryAction.ANALYZE
        assert 0 <= decision.weight <= 100
        assert decision.weight in allowed
        assert decision.status.active == (decision.weight > 0)
        assert decision.step < len(spec.steps)
        assert decision.requeue_after_seconds is None or 0 <= decision.requeue_after_seconds <= 600
        if decision.action in {CanaryAction.PROMOTE, CanaryAction.ROLLBACK, CanaryAction.NONE}:
            assert decision.weight == 0
        if decision.action is CanaryAction.PROMOTE and current is not None:
            stable = current.image
        status = decision.status
