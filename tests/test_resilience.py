from __future__ import annotations

import random

from blocksight_tui.adapters.resilience import Backoff, CircuitBreaker


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=30.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    ceilings = [min(30.0, 2.0**n) for n in range(12)]
    assert all(0.5 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays) <= 30.0 and delays[-1] > 2.0
    assert len({round(d, 6) for d in delays[6:]}) > 1  # jittered, not in step
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_breaker_opens_probes_and_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker(backoff=Backoff(1.0, 30.0, random.Random(2)), clock=lambda: now[0])
    assert breaker.state == "closed" and breaker.allow()
    assert breaker.record_failure("node unreachable") is True
    assert breaker.state == "open" and not breaker.allow()
    wait = breaker.retry_in()
    assert 0.5 <= wait <= 1.0
    now[0] += wait
    assert breaker.state == "half-open" and breaker.allow()
    assert breaker.record_failure("node unreachable") is False  # reopened, longer
    assert breaker.state == "open" and breaker.last_error == "node unreachable"
    now[0] += 100
    assert breaker.record_success() is True
    assert breaker.state == "closed" and breaker.retry_in() == 0.0
    assert breaker.record_success() is False


def test_threshold_tolerates_single_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=lambda: 0.0)
    assert not breaker.record_failure("x") and not breaker.record_failure("x")
    assert breaker.state == "closed"
    assert breaker.record_failure("x") and breaker.state == "open"
