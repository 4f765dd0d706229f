"""The link to a remote hub: the feed of `blocksight attach`.

It plays the part the local adapters and bus play in the TUI: events in, the
orchestrator's `handle` out. On connect it takes the hub's state (hello, then
the snapshot); while connected, each event. When the link drops it marks what
it delivered stale (a figure from a hub one cannot hear is the last good
value, not the current one), waits with exponential backoff and jitter, and on
the next connection resumes from the last sequence number it saw, so no block
or reorg is lost. A restarted hub (a new `stream`) answers with a fresh
snapshot, which replaces the state.

The link has a state of its own (connected, reconnecting in N s, refused…),
handed to the orchestrator as a frozen `LinkState` on every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, Protocol, TypeVar

import aiohttp
from pydantic import SecretStr

from blocksight_tui.adapters.resilience import Backoff
from blocksight_tui.events import Event
from blocksight_tui.hosts import connection_failure
from blocksight_tui.hub.protocol import (
    ErrorFrame,
    EventFrame,
    HelloFrame,
    PongFrame,
    Resume,
    SnapshotFrame,
)
from blocksight_tui.remote.frames import BadFrame, ProtocolMismatch, ServerFrame, read_frame
from blocksight_tui.remote.state import LinkPhase, LinkState
from blocksight_tui.remote.url import HubAddress

log = logging.getLogger(__name__)

BACKOFF_BASE_S: Final = 0.5
BACKOFF_CAP_S: Final = 30.0
SLOW_RETRY_S: Final = 60.0
"""After a refused token, another protocol version or a wrong path: trying again fast
would not change the answer, only fill the hub's log."""
HANDSHAKE_TIMEOUT_S: Final = 10.0
SYNC_TIMEOUT_S: Final = 15.0
"""From the upgrade to having the state (hello, snapshot, and a resume's replay)."""
HEARTBEAT_S: Final = 15.0
"""A hub (or an SSH tunnel) that went silent is noticed within this and half."""
MAX_FRAME_BYTES: Final = 16 * 1024 * 1024
REFUSAL_LOG_EVERY_S: Final = 60.0
LINK_LOST: Final = "link to hub lost"
REFUSED_TOKEN: Final = "bad or missing token"

_CLOSE_REASONS: Final = {
    1000: "closed by the hub",
    1001: "hub shutting down",
    1009: "hub refused a message as too large",
    1013: "hub dropped this client as too slow",
}


class LinkSink(Protocol):
    """Where the link delivers: the MainOrchestrator."""

    def handle(self, event: Event) -> None: ...

    def reset(self) -> None: ...

    def set_link(self, state: LinkState) -> None: ...


class LinkError(Exception):
    """The connection failed or dropped; `str()` is what the screen says."""


class Refused(LinkError):
    """The hub turned the token down (HTTP 401/403)."""


class NotAHub(LinkError):
    """Nothing at that path (HTTP 404): a wrong URL, which retrying soon
    will not mend."""


F = TypeVar("F", HelloFrame, SnapshotFrame)


class HubLink:
    def __init__(
        self,
        address: HubAddress,
        sink: LinkSink,
        *,
        token: SecretStr | None = None,
        backoff: Backoff | None = None,
        slow_retry: float = SLOW_RETRY_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        heartbeat: float = HEARTBEAT_S,
        sync_timeout: float = SYNC_TIMEOUT_S,
    ) -> None:
        """`sleep` and `clock` are injected so tests can watch the backoff
        without waiting it out."""
        self.address = address
        self._sink = sink
        self._token = token
        self._backoff = backoff or Backoff(BACKOFF_BASE_S, BACKOFF_CAP_S)
        self._slow_retry = slow_retry
        self._sleep = sleep
        self._clock = clock
        self._heartbeat = heartbeat
        self._sync_timeout = sync_timeout
        self._task: asyncio.Task[None] | None = None
        # The latest real event of each type and source, as delivered: what
        # a lost link marks stale.
        self._latest: dict[tuple[str, str], Event] = {}
        self._refused_frames = 0
        self._last_refusal_log: float | None = None
        self._last_failure_log: float | None = None
        self.stream: str | None = None
        """The hub run the delivered events belong to (hello's `stream`)."""
        self.last_seq = 0
        """The newest sequence number delivered from that run."""
        self.connections = 0
        """Connections that got as far as the state: for tests and the log."""
        self.state = LinkState(address=address.host_port)

    @property
    def refused_frames(self) -> int:
        return self._refused_frames

    # ------------------------------------------------------------ feed

    async def start(self) -> list[str]:
        """Start the link in the background and return at once: the screen
        shows its state, whatever the hub does. Returns what the user should
        be told before anything is sent."""
        self._set(LinkState(address=self.address.host_port))
        self._task = asyncio.create_task(self._run(), name=f"hub-link:{self.address.host_port}")
        return token_notices(self.address, self._token)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            failures = 0
            while True:
                phase: LinkPhase = "reconnecting"
                try:
                    reason = await self._connect_once(session)
                    failures = 0
                except Refused as exc:
                    phase, reason = "refused", str(exc)
                except (ProtocolMismatch, NotAHub) as exc:
                    phase, reason = "unavailable", str(exc)
                except (aiohttp.ClientError, OSError, TimeoutError, LinkError, BadFrame) as exc:
                    reason = _describe(exc)
                except Exception as exc:
                    # A bug here must not leave the screen saying "connected".
                    log.exception("hub link %s failed", self.address.host_port)
                    reason = f"{type(exc).__name__}: {exc}"
                self._mark_stale()
                failures += 1
                slow = phase != "reconnecting"
                delay = self._slow_retry if slow else self._backoff.next_delay()
                self._log_failure(failures, reason, delay)
                self._set(
                    LinkState(
                        address=self.address.host_port,
                        phase=phase,
                        attempt=failures,
                        retry_at=self._clock() + delay,
                        last_error=reason,
                        server=self.state.server,
                    )
                )
                await self._sleep(delay)
                self._set(
                    LinkState(
                        address=self.address.host_port,
                        phase="connecting",
                        attempt=failures,
                        last_error=reason,
                        server=self.state.server,
                    )
                )

    def _log_failure(self, failures: int, reason: str, delay: float) -> None:
        """The first failure, then at most one a minute while the link is down."""
        now = time.monotonic()
        quiet = self._last_failure_log is not None and now - self._last_failure_log < 60.0
        if failures > 1 and quiet:
            log.debug("hub link %s: %s (attempt %d)", self.address.host_port, reason, failures)
            return
        self._last_failure_log = now
        log.warning(
            "hub link %s: %s; next try in %.1f s (attempt %d)",
            self.address.host_port,
            reason,
            delay,
            failures,
        )

    async def _connect_once(self, session: aiohttp.ClientSession) -> str:
        """One connection, from the handshake to its end; returns why it
        ended, or raises when it never got as far as the state."""
        headers = {}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                ws = await session.ws_connect(
                    self.address.url,
                    headers=headers,
                    heartbeat=self._heartbeat,
                    max_msg_size=MAX_FRAME_BYTES,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise Refused(f"{REFUSED_TOKEN} (HTTP {exc.status})") from None
            failure = NotAHub if exc.status == 404 else LinkError
            text = f"HTTP {exc.status} at {self.address.path}: not a BlockSight hub?"
            raise failure(text) from None
        async with ws:
            async with asyncio.timeout(self._sync_timeout):
                hello = await self._sync(ws)
            self.connections += 1
            self._backoff.reset()
            self._last_failure_log = None
            log.info(
                "hub link %s: connected to %s, stream %s, up to #%d",
                self.address.host_port,
                hello.server,
                hello.stream,
                self.last_seq,
            )
            self._set(
                LinkState(address=self.address.host_port, phase="connected", server=hello.server)
            )
            return await self._follow(ws)

    async def _sync(self, ws: aiohttp.ClientWebSocketResponse) -> HelloFrame:
        """hello, the snapshot, and after a drop the resume: the state is the
        hub's when this returns."""
        hello = await self._expect(ws, HelloFrame)
        snapshot = await self._expect(ws, SnapshotFrame)
        if self.stream is None:
            self._replace(snapshot)
        else:
            await self._resume(ws, snapshot)
        self.stream = hello.stream
        return hello

    async def _resume(self, ws: aiohttp.ClientWebSocketResponse, joined: SnapshotFrame) -> None:
        """Ask for what was missed, then ping: the hub answers a client's
        messages in order, so the pong comes after the whole replay.

        Replayed events may arrive after live ones of higher `seq`; all are
        gathered until the pong and delivered in `seq` order.
        """
        resume = Resume(op="resume", last_seq=self.last_seq, stream=self.stream)
        await ws.send_str(resume.model_dump_json())
        await ws.send_str('{"op":"ping"}')
        events: dict[int, Event] = {}
        fresh: SnapshotFrame | None = None
        failed = False
        while True:
            frame = await self._next(ws)
            if isinstance(frame, PongFrame):
                break
            if isinstance(frame, EventFrame):
                events[frame.event.seq] = frame.event
            elif isinstance(frame, SnapshotFrame) and frame.fresh:
                fresh = frame
            elif isinstance(frame, ErrorFrame):
                log.warning("hub link: resume refused: %s %s", frame.code, frame.message)
                failed = True
        if fresh is not None or failed:
            # Another run of the hub, or a gap older than its memory: start over.
            base = fresh or joined
            self._replace(base)
            missed = [e for seq, e in sorted(events.items()) if seq > base.last_seq]
            log.info("hub link: fresh state from the hub (%d events)", len(base.events))
        else:
            # The figures unchanged since the drop come back from the joining
            # snapshot (they were marked stale).
            for event in joined.events:
                if event.seq <= self.last_seq:
                    self._deliver(_as_state(event))
            missed = [e for seq, e in sorted(events.items()) if seq > self.last_seq]
            log.info("hub link: resumed after #%d, %d events missed", self.last_seq, len(missed))
        for event in missed:
            self._apply(event)

    async def _follow(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Deliver events until the link ends; returns why it ended."""
        while True:
            msg = await ws.receive()
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return _ended(msg, ws)
            frame = self._read(msg)
            if isinstance(frame, EventFrame):
                self._apply(frame.event)
            elif isinstance(frame, SnapshotFrame):
                if frame.fresh:
                    self._replace(frame)
                else:
                    for event in frame.events:
                        self._apply(event)
            elif isinstance(frame, ErrorFrame):
                log.warning("hub link: hub says %s: %s", frame.code, frame.message)

    # ------------------------------------------------------------ frames

    async def _expect(self, ws: aiohttp.ClientWebSocketResponse, kind: type[F]) -> F:
        """The next frame, which must be `kind`: hello and the snapshot open
        every connection, and without them there is no state to show."""
        while True:
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise LinkError(_ended(msg, ws))
            frame = read_frame(msg.data)  # BadFrame ends this connection
            if isinstance(frame, kind):
                return frame
            if not isinstance(frame, ServerFrame):
                continue  # a frame kind of a newer hub
            raise LinkError(f"expected {kind.__name__}, got {type(frame).__name__}")

    async def _next(self, ws: aiohttp.ClientWebSocketResponse) -> ServerFrame | None:
        msg = await ws.receive()
        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            raise LinkError(_ended(msg, ws))
        return self._read(msg)

    def _read(self, msg: aiohttp.WSMessage) -> ServerFrame | None:
        """A frame, or None for one refused (logged) or of an unknown kind."""
        if msg.type != aiohttp.WSMsgType.TEXT:
            self._refuse("not a text frame")
            return None
        try:
            frame = read_frame(msg.data)
        except ProtocolMismatch:
            raise
        except BadFrame as exc:
            self._refuse(str(exc))
            return None
        return frame if isinstance(frame, ServerFrame) else None

    def _refuse(self, reason: str) -> None:
        """Logged at most once a minute: a broken hub must not fill the log."""
        self._refused_frames += 1
        now = time.monotonic()
        if self._last_refusal_log is None or now - self._last_refusal_log >= REFUSAL_LOG_EVERY_S:
            self._last_refusal_log = now
            log.warning(
                "hub link: refused a frame (%d so far): %s", self._refused_frames, reason[:300]
            )

    # ------------------------------------------------------------ delivery

    def _replace(self, snapshot: SnapshotFrame) -> None:
        """The hub's state instead of ours: a first connection, or a restarted hub."""
        self._latest.clear()
        self._sink.reset()
        for event in snapshot.events:
            self._deliver(event)
        self.last_seq = snapshot.last_seq

    def _apply(self, event: Event) -> None:
        if event.seq <= self.last_seq:
            return  # already delivered
        self._deliver(event)
        self.last_seq = event.seq

    def _deliver(self, event: Event) -> None:
        self._sink.handle(event)
        self._latest[(event.type, event.source.name)] = event

    def _mark_stale(self) -> None:
        """What the hub last said, marked stale: once per figure, as a failing
        local source would."""
        for event in tuple(self._latest.values()):
            if event.source.state != "ok":
                continue
            source = event.source.model_copy(update={"state": "stale", "reason": LINK_LOST})
            self._sink.handle(_as_state(event).model_copy(update={"source": source}))
        # Marked once: what the link delivers next is the hub's again.
        self._latest.clear()

    def _set(self, state: LinkState) -> None:
        self.state = state
        self._sink.set_link(state)


def token_notices(address: HubAddress, token: SecretStr | None) -> list[str]:
    """A token sent in clear to another machine is worth a word."""
    if token is not None and address.scheme == "ws" and not address.loopback:
        return [
            f"the token travels unencrypted over ws:// to {address.host}: "
            "prefer wss:// or an SSH tunnel"
        ]
    return []


def _as_state(event: Event) -> Event:
    """The event as a statement of its source's state only. A reorg happened
    once: delivered again (marked stale, or restored after a resume) it
    carries no data, so nothing counts it twice."""
    if event.type == "chain.reorg":
        return event.model_copy(update={"data": None})
    return event


def _ended(msg: aiohttp.WSMessage, ws: aiohttp.ClientWebSocketResponse) -> str:
    """Why the link ended, from the message that ended it."""
    if isinstance(ws.exception(), TimeoutError):
        return "hub stopped answering"
    if msg.type == aiohttp.WSMsgType.ERROR:
        return f"link error: {ws.exception() or msg.data}"
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
        code = ws.close_code
        if code is None and msg.type == aiohttp.WSMsgType.CLOSE:
            code = msg.data
        if not code:
            return "connection lost"
        return _CLOSE_REASONS.get(code, f"connection lost (code {code})")
    return f"unexpected {msg.type.name} frame"


def _describe(exc: BaseException) -> str:
    """A short reason for the status line."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, BadFrame):
        return f"bad frame: {exc}"
    if isinstance(exc, LinkError):
        return str(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        exc = exc.os_error
    if isinstance(exc, OSError):
        return connection_failure(exc)
    text = str(exc) or type(exc).__name__
    with contextlib.suppress(IndexError):
        text = text.splitlines()[0]
    return text[:120]
