"""The pipeline: all-or-none admission, rate limits, quarantine, fair hand-off to the sink."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from menshen.monitor.ingest.limits import IngestLimits, TokenBucket
from menshen.monitor.ingest.mappers.native import map_native
from menshen.monitor.ingest.pipeline import Pipeline, RawRecord
from menshen.monitor.ingest.sink import CollectingSink
from menshen.testing import FixedClock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GOOD = ("t1", "vpn")
FLOOD = ("t1", "noisy")


def _line(n: int, user: str = "alice") -> RawRecord:
    body = {
        "time": "2026-11-25T11:59:00Z",
        "category": "authentication",
        "action": "login",
        "user": user,
        "id": f"{user}-{n}",
    }
    return RawRecord(json.dumps(body), f"d{n}")


def _pipeline(**limits: float) -> tuple[Pipeline, CollectingSink, FixedClock]:
    clock = FixedClock(NOW)
    sink = CollectingSink()
    return Pipeline(sink, clock, IngestLimits(**limits)), sink, clock  # type: ignore[arg-type]


def test_token_bucket_refills_at_its_rate() -> None:
    """Ten a second with a burst of ten: the eleventh waits a tenth of a second."""
    bucket = TokenBucket(10.0, 10, now=0.0)
    assert bucket.take(10, 0.0) == 0.0
    assert abs(bucket.take(1, 0.0) - 0.1) < 1e-9
    assert bucket.take(1, 0.1) == 0.0


def test_a_batch_larger_than_the_burst_goes_when_the_bucket_is_full() -> None:
    """Twenty with a burst of ten: taken from a full bucket, then two seconds of debt."""
    bucket = TokenBucket(10.0, 10, now=0.0)
    assert bucket.take(20, 0.0) == 0.0
    assert bucket.take(1, 1.0) > 0
    assert bucket.take(1, 2.1) == 0.0


def test_well_formed_records_reach_the_sink() -> None:
    """Admitted records are mapped, queued and handed over in one batch."""
    pipeline, sink, _ = _pipeline()
    admission = pipeline.submit(GOOD, [_line(i) for i in range(3)], map_native)
    assert (admission.accepted, admission.rejected, admission.retry_after) == (3, 0, None)
    assert pipeline.drain_once() == 3
    assert [e.event_id for e in sink.events] == ["alice-0", "alice-1", "alice-2"]
    assert sink.events[0].source == "vpn"
    assert sink.events[0].tenant_id == "t1"


def test_bad_records_are_counted_and_quarantined_with_reason() -> None:
    """Truncated JSON, 1970 and future times, wrong types: counted by reason, kept with excerpt."""
    pipeline, sink, _ = _pipeline()
    bad = [
        RawRecord('{"time": "2026-11-25T11:59:00Z", "categ', "b1"),
        RawRecord('{"time": 0, "category": "mfa", "action": "x"}', "b2"),
        RawRecord('{"time": "2030-01-01T00:00:00Z", "category": "mfa", "action": "x"}', "b3"),
        RawRecord('{"time": "2026-11-25T11:59:00Z", "category": ["mfa"], "action": "x"}', "b4"),
    ]
    admission = pipeline.submit(GOOD, [*bad, _line(1)], map_native)
    assert (admission.accepted, admission.rejected) == (1, 4)
    counted = pipeline.metrics[GOOD].rejected
    assert counted == {"bad_json": 1, "time_too_old": 1, "time_in_future": 1, "wrong_type": 1}
    kept = pipeline.take_quarantine()
    assert {q.reason for q in kept} == set(counted)
    assert all(q.source == "vpn" and len(q.excerpt) <= 257 for q in kept)
    pipeline.drain_once()
    assert len(sink.events) == 1


def test_a_mapper_bug_is_a_counted_rejection() -> None:
    """A mapper raising something unexpected does not stop the pipeline."""
    pipeline, _, _ = _pipeline()

    def broken(raw: str, ctx: object, default_id: str) -> object:
        raise ZeroDivisionError

    admission = pipeline.submit(GOOD, [_line(1)], broken)  # type: ignore[arg-type]
    assert admission.rejected == 1
    assert pipeline.metrics[GOOD].rejected["mapper_error"] == 1


def test_over_the_rate_nothing_is_taken_and_retry_after_is_given() -> None:
    """Past the burst the whole batch is refused with the wait; after it, it is taken."""
    pipeline, _, clock = _pipeline(rate=10.0, burst=10)
    assert pipeline.submit(GOOD, [_line(i) for i in range(10)], map_native).accepted == 10
    refused = pipeline.submit(GOOD, [_line(i) for i in range(10, 15)], map_native)
    assert refused.retry_after is not None
    assert refused.accepted == 0
    assert pipeline.metrics[GOOD].throttled == 5
    clock.advance(refused.retry_after)
    assert pipeline.submit(GOOD, [_line(i) for i in range(10, 15)], map_native).accepted == 5


def test_a_full_queue_refuses_until_drained() -> None:
    """The queue bound is per source and refuses the batch that would overflow it."""
    pipeline, _, _ = _pipeline(queue=5)
    assert pipeline.submit(GOOD, [_line(i) for i in range(5)], map_native).accepted == 5
    assert pipeline.submit(GOOD, [_line(5)], map_native).retry_after is not None
    pipeline.drain_once()
    assert pipeline.submit(GOOD, [_line(5)], map_native).accepted == 1


def test_quarantine_is_sampled_per_source_and_minute() -> None:
    """A flood of garbage is all counted but only a sample per minute is kept."""
    clock = FixedClock(NOW)
    pipeline = Pipeline(CollectingSink(), clock, IngestLimits(), quarantine_per_minute=3)
    pipeline.submit(FLOOD, [RawRecord("{", str(i)) for i in range(50)], map_native)
    assert pipeline.metrics[FLOOD].rejected["bad_json"] == 50
    assert len(pipeline.take_quarantine()) == 3
    assert pipeline.metrics[FLOOD].quarantine_dropped == 47
    clock.advance(60)
    pipeline.submit(FLOOD, [RawRecord("{", "x")], map_native)
    assert len(pipeline.take_quarantine()) == 1


def test_batches_take_a_share_from_every_source() -> None:
    """A deep queue of one source does not hold back another's events."""
    pipeline, sink, _ = _pipeline(batch=10, queue=1000, burst=1000)
    pipeline.submit(FLOOD, [_line(i, "mallory") for i in range(500)], map_native)
    pipeline.submit(GOOD, [_line(i) for i in range(3)], map_native)
    pipeline.drain_once()
    assert sum(1 for e in sink.events if e.source == "vpn") == 3


def test_nothing_is_lost_from_a_well_formed_source_while_another_floods() -> None:
    """A flooder hits its limits and gets garbage quarantined; the good sender, retrying on
    refusals as told, has every one of its events delivered."""
    pipeline, sink, clock = _pipeline(rate=100.0, burst=200, queue=300, batch=50)
    good_sent = 0
    garbage = [RawRecord('{"time": 1, "categ', f"g{i}") for i in range(50)]
    flood_well_formed = [_line(i, "mallory") for i in range(100)]
    for _ in range(400):  # bounded rounds of 0.1 s
        pipeline.submit(FLOOD, garbage, map_native)
        pipeline.submit(FLOOD, flood_well_formed, map_native)
        pipeline.reject(FLOOD, "line_too_long", "cap", b"x" * 1000)
        if good_sent < 500:
            batch = [_line(i) for i in range(good_sent, good_sent + 5)]
            if pipeline.submit(GOOD, batch, map_native).retry_after is None:
                good_sent += 5
        pipeline.drain_once()
        clock.advance(0.1)
    while pipeline.drain_once():
        pass
    delivered = [e.event_id for e in sink.events if e.source == "vpn"]
    assert delivered == [f"alice-{i}" for i in range(500)]
    assert pipeline.metrics[FLOOD].throttled > 0
    assert pipeline.metrics[FLOOD].rejected["line_too_long"] == 400
    assert pipeline.metrics[GOOD].throttled == 0
