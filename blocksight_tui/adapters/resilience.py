"""Backoff with jitter and a circuit breaker, for sources that go away.

While a source fails, the breaker is open: calls are not made, and the
figures say why and when the next try is. After the backoff delay one call
goes through (half-open); success closes the breaker, failure reopens it with
a longer delay, up to the cap. Full jitter keeps many clients of one node
from retrying in step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final, Literal

BreakerState = Literal["closed", "open", "half-open"]

DEFAULT_BASE_S: Final = 1.0
DEFAULT_CAP_S: Final = 30.0


class Backoff:
    def __init__(
        self,
        base: float = DEFAULT_BASE_S,
        cap: float = DEFAULT_CAP_S,
        rng: random.Random | None = None,
    ) -> None:
        self._base = base
        self._cap = cap
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """Full jitter: uniform in [base/2, min(cap, base·2^n)]."""
        ceiling = min(self._cap, self._base * 2**self.attempts)
        self.attempts += 1
        return self._rng.uniform(min(self._base / 2, ceiling), ceiling)

    def reset(self) -> None:
        self.attempts = 0


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 1,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None
        self.last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        if self._open_until is None:
            return "closed"
        return "open" if self._clock() < self._open_until else "half-open"

    def retry_in(self) -> float:
        if self._open_until is None:
            return 0.0
        return max(0.0, self._open_until - self._clock())

    def allow(self) -> bool:
        """Whether a call may go out now (closed, or the half-open probe)."""
        return self.state != "open"

    def record_success(self) -> bool:
        """Returns True when this success closed an open breaker."""
        was_open = self._open_until is not None
        self._failures = 0
        self._open_until = None
        self._backoff.reset()
        self.last_error = None
        return was_open

    def record_failure(self, reason: str) -> bool:
        """Returns True when this failure opened the breaker (from closed)."""
        self._failures += 1
        self.last_error = reason
        if self._failures < self._threshold:
            return False
        was_closed = self._open_until is None
        self._open_until = self._clock() + self._backoff.next_delay()
        return was_closed
