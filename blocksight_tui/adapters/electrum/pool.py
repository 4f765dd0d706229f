"""A pool of Electrum servers: one session per server, shared by every
caller, each kept alive and reconnected with backoff, and one of them active.

The active server stays active while it answers; when it drops or stops
answering its pings, the healthiest other server takes over (within a ping
interval plus a timeout, a few seconds). A recovered server does not take
over again by itself, to avoid flapping: it does when asked (`prefer`) or
when the active one fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

from blocksight_tui.adapters.electrum.servers import ServerSpec
from blocksight_tui.adapters.electrum.session import (
    Connection,
    ElectrumFailure,
    ServerError,
    open_connection,
)
from blocksight_tui.adapters.resilience import Backoff

log = logging.getLogger(__name__)

LinkState = Literal["connecting", "up", "down"]
WATCH_STEP_S: Final = 0.25
LATENCY_WEIGHT: Final = 0.3


class ServerLink:
    """One server: its session, its health, and the last tip it announced."""

    def __init__(
        self,
        spec: ServerSpec,
        on_change: Callable[[ServerLink], None],
        *,
        timeout: float,
        ping_interval: float,
        proxy: str | None,
    ) -> None:
        self.spec = spec
        self._on_change = on_change
        self._timeout = timeout
        self._ping_interval = ping_interval
        self._proxy = proxy
        self._backoff = Backoff(base=0.5, cap=30.0)
        self.connection: Connection | None = None
        self.state: LinkState = "connecting"
        self.last_error: str | None = None
        self.latency_ms: float | None = None
        self.errors = 0
        self.tip: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.spec.url

    @property
    def score(self) -> float:
        """Lower is healthier: latency, plus a second for each recent error."""
        return (self.latency_ms or 500.0) + 1000.0 * self.errors

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"electrum:{self.url}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._drop(None)

    async def request(self, method: str, *args: Any) -> Any:
        connection = self.connection
        if connection is None or connection.closed:
            raise ElectrumFailure(f"{self.url} is not connected")
        started = time.monotonic()
        try:
            result = await connection.request(method, *args)
        except ServerError:
            raise
        except ElectrumFailure as exc:
            self.errors += 1
            await self._drop(str(exc))
            raise
        self._measured(time.monotonic() - started)
        return result

    def _measured(self, seconds: float) -> None:
        ms = seconds * 1000
        self.latency_ms = ms if self.latency_ms is None else (
            (1 - LATENCY_WEIGHT) * self.latency_ms + LATENCY_WEIGHT * ms
        )

    def _notified(self, method: str, args: Any) -> None:
        if method == "blockchain.headers.subscribe" and args and isinstance(args[0], dict):
            self.tip = args[0]
            self._on_change(self)

    async def _run(self) -> None:
        while True:
            try:
                await self._connect()
                self._backoff.reset()
                await self._watch()
            except ElectrumFailure as exc:
                self.errors += 1
                await self._drop(str(exc))
            delay = self._backoff.next_delay()
            log.info("Electrum %s down (%s); next try in %.1f s", self.url, self.last_error, delay)
            await asyncio.sleep(delay)

    async def _connect(self) -> None:
        self.state = "connecting"
        started = time.monotonic()
        connection = await open_connection(
            self.spec, self._notified, timeout=self._timeout, proxy=self._proxy
        )
        self.connection = connection
        self._measured(time.monotonic() - started)
        tip = await self.request("blockchain.headers.subscribe")
        if not isinstance(tip, dict):
            raise ElectrumFailure(f"{self.url}: headers.subscribe answered {tip!r:.60}")
        self.tip = tip
        self.state = "up"
        self.last_error = None
        assert connection.negotiated is not None
        log.info(
            "Electrum %s up: %s, protocol %s",
            self.url,
            connection.negotiated.server_software,
            connection.negotiated.protocol,
        )
        self._on_change(self)

    async def _watch(self) -> None:
        """Until the session ends: notice a drop at once, a silent server by
        its unanswered ping."""
        last_ping = time.monotonic()
        while self.connection is not None and not self.connection.closed:
            await asyncio.sleep(WATCH_STEP_S)
            if time.monotonic() - last_ping >= self._ping_interval:
                await self.request("server.ping")
                last_ping = time.monotonic()
                self.errors = max(0, self.errors - 1)
        raise ElectrumFailure(f"{self.url} closed the session")

    async def _drop(self, reason: str | None) -> None:
        connection, self.connection = self.connection, None
        was_up = self.state == "up"
        self.state = "down"
        if reason is not None:
            self.last_error = reason
        if connection is not None:
            await connection.close()
        if was_up:
            self._on_change(self)


class ServerPool:
    def __init__(
        self,
        specs: Sequence[ServerSpec],
        *,
        timeout: float = 10.0,
        ping_interval: float = 2.0,
        proxy: str | None = None,
        on_tip: Callable[[], None] = lambda: None,
    ) -> None:
        self.links = [
            ServerLink(s, self._changed, timeout=timeout, ping_interval=ping_interval, proxy=proxy)
            for s in specs
        ]
        self.active: ServerLink | None = None
        self._on_tip = on_tip

    def start(self) -> None:
        for link in self.links:
            link.start()

    async def stop(self) -> None:
        await asyncio.gather(*(link.stop() for link in self.links))

    def prefer(self, url: str) -> bool:
        """Make this server the active one, if it is up."""
        for link in self.links:
            if link.url == url and link.state == "up":
                self._activate(link)
                return True
        return False

    def status(self) -> str:
        """Why no server is active, for the screen."""
        reasons = [f"{link.url}: {link.last_error or link.state}" for link in self.links]
        return "; ".join(reasons) or "no Electrum server configured"

    async def request(self, method: str, *args: Any) -> Any:
        """On the active server; if it fails, once more on the next one."""
        for _ in range(2):
            link = self.active
            if link is None:
                raise ElectrumFailure(f"no Electrum server reachable ({self.status()})")
            try:
                return await link.request(method, *args)
            except ServerError:
                raise
            except ElectrumFailure:
                self._changed(link)
        raise ElectrumFailure(f"no Electrum server answered {method}")

    def _changed(self, link: ServerLink) -> None:
        if self.active is not None and self.active.state == "up":
            if link is self.active:
                self._on_tip()
            return
        healthy = sorted((x for x in self.links if x.state == "up"), key=lambda x: x.score)
        self._activate(healthy[0] if healthy else None)

    def _activate(self, link: ServerLink | None) -> None:
        if link is not self.active:
            old = self.active.url if self.active is not None else "none"
            log.warning("Electrum: active server %s → %s", old, link.url if link else "none")
            self.active = link
        self._on_tip()
