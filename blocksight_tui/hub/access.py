"""Who may use the hub: the token, the Origin allowlist, the client cap, and
each client's message budget.

Checked before the WebSocket handshake completes, so a refused client costs
one HTTP answer and never an outbox or a task.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from blocksight_tui.hosts import is_loopback


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    reason: str  # short, for the metrics label and the log
    message: str  # for the client


UNAUTHORIZED: Final = Refusal(401, "token", "a valid token is required")
FORBIDDEN_ORIGIN: Final = Refusal(403, "origin", "this page's origin is not allowed")
FULL: Final = Refusal(503, "full", "too many clients; try again later")
FOREIGN_HOST: Final = Refusal(403, "host", "this hub answers to loopback names only")


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token from `Authorization: Bearer …`, else from `?token=…` (for
    browsers, whose WebSocket API cannot set headers)."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query.get("token") or None


def _is_loopback_host(host: str) -> bool:
    """For a Host header: `localhost:8765`, `127.0.0.1`, `[::1]:8765`."""
    if host.startswith("[") and "]" in host:
        return is_loopback(host[1 : host.index("]")])
    return is_loopback(host.rsplit(":", 1)[0])


class AccessPolicy:
    def __init__(
        self,
        token: str | None = None,
        origins: Iterable[str] = (),
        max_clients: int = 1000,
    ) -> None:
        self._token = token.encode() if token else None
        self._origins = frozenset(o.rstrip("/").lower() for o in origins)
        self.max_clients = max_clients

    @property
    def token_required(self) -> bool:
        return self._token is not None

    def authorized(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        if self._token is None:
            return True
        given = presented_token(headers, query)
        # Compared in constant time: the answer's timing says nothing of the token.
        return given is not None and hmac.compare_digest(given.encode(), self._token)

    def host_allowed(self, host: str | None) -> bool:
        """Without a token the hub answers only requests addressed to a
        loopback name: a browser led to it by DNS rebinding (evil.example
        resolving to 127.0.0.1) sends its own name, and reads nothing."""
        return self._token is not None or (host is not None and _is_loopback_host(host))

    def origin_allowed(self, origin: str | None, host: str | None, scheme: str) -> bool:
        """Scripts and the TUI send no Origin; a browser page must come from the
        hub itself or from the allowlist.

        Without a token, "from the hub itself" also needs a loopback Host: a
        page on a rebinding name (evil.example resolving to 127.0.0.1) is
        same-origin by the letter, and must not read a loopback hub.
        """
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if "*" in self._origins or origin in self._origins:
            return True
        if not host:
            return False
        same = origin == f"{'https' if scheme == 'https' else 'http'}://{host.lower()}"
        return same and (self._token is not None or _is_loopback_host(host))

    def refusal(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        host: str | None,
        scheme: str,
        clients: int,
    ) -> Refusal | None:
        if not self.origin_allowed(headers.get("Origin"), host, scheme):
            return FORBIDDEN_ORIGIN
        if not self.authorized(headers, query):
            return UNAUTHORIZED
        if clients >= self.max_clients:
            return FULL
        return None


class TokenBucket:
    """`rate` per second with bursts of `burst`; `take` says whether there
    was room."""

    __slots__ = ("_rate", "_burst", "_level", "_at", "_clock")

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._level = burst
        self._clock = clock
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._level = min(self._burst, self._level + (now - self._at) * self._rate)
        self._at = now
        if self._level < 1.0:
            return False
        self._level -= 1.0
        return True


# A client may make this many mistakes (bad messages, messages over its
# rate) in a burst, then one a minute more, before it is disconnected.
FAULT_BURST: Final = 10.0
FAULTS_PER_SECOND: Final = 1 / 60


class MessageBudget:
    """One client's allowance: messages at the configured rate, and faults
    (each refused or invalid message) at a much lower one. A client that runs
    out of faults is abusing the hub."""

    __slots__ = ("_messages", "_faults")

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._messages = TokenBucket(per_second, 2 * per_second, clock)
        self._faults = TokenBucket(FAULTS_PER_SECOND, FAULT_BURST, clock)

    def allow_message(self) -> bool:
        return self._messages.take()

    def forgive_fault(self) -> bool:
        """Count a fault; False when the client has made too many."""
        return self._faults.take()

