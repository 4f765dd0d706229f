"""The node as one guarded resource: every call of the Core adapter goes
through here, so one circuit breaker, one way of telling a node-wide failure
(down, 401, warming up) from a figure-local one (a method this build lacks),
and one place that notices the node coming back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from blocksight_tui.adapters.jsonrpc import (
    AuthFailed,
    Call,
    JsonRpcClient,
    MethodNotFound,
    NodeUnreachable,
    NodeWarmingUp,
    RpcError,
    RpcFailure,
)
from blocksight_tui.adapters.resilience import CircuitBreaker

log = logging.getLogger(__name__)

ERROR_LOG_EVERY_S: Final = 60.0
Credentials = tuple[str | None, str | None]


class BreakerOpen(RpcFailure):
    """The node failed lately; no call is made until the next try."""


NODE_WIDE: Final = (NodeUnreachable, AuthFailed, NodeWarmingUp, BreakerOpen)


def is_node_wide(exc: BaseException) -> bool:
    return isinstance(exc, NODE_WIDE)


class GuardedNode:
    def __init__(
        self,
        client: JsonRpcClient,
        breaker: CircuitBreaker | None = None,
        refresh_credentials: Callable[[], Credentials] | None = None,
        on_restored: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.breaker = breaker or CircuitBreaker()
        self._refresh_credentials = refresh_credentials
        self._on_restored = on_restored
        self.missing: set[str] = set()
        """Methods this node answered 'method not found' to: not asked again."""
        self._failing_since: float | None = None
        self._last_error_log = 0.0

    @property
    def url(self) -> str:
        return self.client.url

    async def call(self, method: str, *params: Any) -> Any:
        self._guard(method)
        try:
            result = await self.client.call(method, *params)
        except RpcFailure as exc:
            self._failed(exc, method)
            raise
        self._succeeded()
        return result

    async def batch(self, calls: Sequence[Call]) -> list[Any | RpcError]:
        """Per call its result or its RpcError; node-wide failures raise."""
        for call in calls:
            self._guard(call.method)
        try:
            results = await self.client.batch(calls)
        except RpcFailure as exc:
            self._failed(exc, "batch")
            raise
        for call, result in zip(calls, results, strict=True):
            if isinstance(result, MethodNotFound):
                self.missing.add(call.method)
            elif isinstance(result, NodeWarmingUp):
                self._failed(result, call.method)
                raise result
        self._succeeded()
        return results

    async def call_raw(self, method: str, *params: Any, max_bytes: int) -> bytes:
        self._guard(method)
        try:
            raw = await self.client.call_raw(method, *params, max_bytes=max_bytes)
        except RpcFailure as exc:
            self._failed(exc, method)
            raise
        self._succeeded()
        return raw

    def _guard(self, method: str) -> None:
        if method in self.missing:
            raise MethodNotFound(-32601, "Method not found", method)
        if not self.breaker.allow():
            reason = self.breaker.last_error or "node failing"
            raise BreakerOpen(reason)

    def _failed(self, exc: RpcFailure, method: str) -> None:
        if isinstance(exc, MethodNotFound):
            self.missing.add(method)
            return
        if not is_node_wide(exc):
            return
        if isinstance(exc, AuthFailed) and self._refresh_credentials is not None:
            # A restarted node writes a new cookie: read it again.
            user, password = self._refresh_credentials()
            self.client.set_credentials(user, password)
        self.breaker.record_failure(str(exc))
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if now - self._last_error_log >= ERROR_LOG_EVERY_S:
            # Once a minute is enough for a node that is down for an hour.
            self._last_error_log = now
            log.warning(
                "Bitcoin Core at %s: %s (next try in %.0f s)",
                self.url,
                exc,
                self.breaker.retry_in(),
            )

    def _succeeded(self) -> None:
        restored = self.breaker.record_success()
        if self._failing_since is not None:
            log.info(
                "Bitcoin Core at %s: connection restored after %.0f s",
                self.url,
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None
            self._last_error_log = 0.0
        if restored and self._on_restored is not None:
            self._on_restored()
