"""The WebSocket hub: the one place events leave the process.

On connect a client gets `hello`, then a `snapshot` of the latest event of
every type it is subscribed to, then each new `event`; it may narrow the
stream, ask for a snapshot, ping, or resume after a dropped link (see
docs/protocol.md). Each event is serialized and framed once; the bytes are
written straight to every client that keeps up, and a client that falls
behind gets them through its own outbox and drain task (hub/clients.py), so
the hub never awaits one client before serving the next. A client behind for
longer than `lag_limit` is closed with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from typing import TYPE_CHECKING, Final

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.typedefs import Handler

from blocksight_tui import __version__
from blocksight_tui.events import Event, events_json_schema
from blocksight_tui.hub.access import (
    FOREIGN_HOST,
    UNAUTHORIZED,
    AccessPolicy,
    MessageBudget,
    Refusal,
)
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.clients import Client, HubStats, OutboxOverflow, text_frame
from blocksight_tui.hub.health import chain_source, healthy, source_health
from blocksight_tui.hub.history import HISTORY_SIZE, EventHistory
from blocksight_tui.hub.metrics import CONTENT_TYPE, BusCollector, HubCollector, Metrics
from blocksight_tui.hub.protocol import (
    ErrorCode,
    Ping,
    ProtocolError,
    Resume,
    SnapshotRequest,
    Subscribe,
    Unsubscribe,
    error_frame,
    event_frame,
    expand,
    frames_json_schema,
    hello_frame,
    parse_client_message,
    pong_frame,
    snapshot_frame,
)

if TYPE_CHECKING:
    from blocksight_tui.settings import HubSettings

log = logging.getLogger(__name__)

HEARTBEAT_S: Final = 20.0
CLOSE_TIMEOUT_S: Final = 1.0
MAX_PENDING_ANSWERS: Final = 64
# A client whose frames have waited this long is not coming back soon.
LAG_LIMIT_S: Final = 10.0
# Per client: what the transport buffers past the kernel's socket buffer,
# and the socket buffer itself (left to itself, Linux grows it to 4 MiB
# for a peer that does not read).
WRITE_BUFFER_LIMIT: Final = 64 * 1024
SEND_BUFFER: Final = 256 * 1024
# How long a closed slow client may take to read its close frame before its
# connection is cut (a peer that never reads would otherwise hold it forever).
CLOSE_GRACE_S: Final = 5.0


class HubServer:
    def __init__(
        self,
        bus: EventBus,
        host: str = "127.0.0.1",
        port: int = 8765,
        history_size: int = HISTORY_SIZE,
        *,
        access: AccessPolicy | None = None,
        max_message_bytes: int = 16 * 1024,
        messages_per_second: float = 10.0,
        heartbeat: float | None = HEARTBEAT_S,
        lag_limit: float = LAG_LIMIT_S,
        write_buffer_limit: int = WRITE_BUFFER_LIMIT,
        send_buffer: int = SEND_BUFFER,
    ) -> None:
        self._bus = bus
        self._access = access or AccessPolicy()
        self._max_message_bytes = max_message_bytes
        self._messages_per_second = messages_per_second
        self.metrics = Metrics()
        self.metrics.add(HubCollector(self))
        self.metrics.add(BusCollector(bus))
        self._history = EventHistory(bus.last_seq, history_size)
        # A client that keeps asking (snapshots, pings, resumes) but does not
        # read would pile up answers no coalescing can drop; past this bound
        # its requests go unanswered until it catches up.
        self._max_pending = history_size + MAX_PENDING_ANSWERS
        self._heartbeat = heartbeat
        self._lag_limit = lag_limit
        self._write_limit = write_buffer_limit
        self._send_buffer = send_buffer
        # Sequence numbers restart with the process; a resume naming another
        # stream gets a fresh snapshot rather than the wrong events.
        self.stream = uuid.uuid4().hex
        self.stats = HubStats()
        self._host = host
        self._port = port
        self._clients: dict[Client, web.WebSocketResponse] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._unsubscribe = bus.subscribe(self._on_event)
        self.bound_port: int | None = None

    @classmethod
    def from_settings(cls, bus: EventBus, hub: HubSettings) -> HubServer:
        token = hub.token.get_secret_value() if hub.token is not None else None
        return cls(
            bus,
            hub.host,
            hub.port,
            access=AccessPolicy(token, hub.origins, hub.max_clients),
            max_message_bytes=hub.max_message_bytes,
            messages_per_second=hub.messages_per_second,
            heartbeat=hub.heartbeat,
            lag_limit=hub.lag_limit,
        )

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def clients(self) -> tuple[Client, ...]:
        return tuple(self._clients)

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"ws://{host}:{self.bound_port or self._port}/ws"

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._loopback_names_only])
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/api/schema", self._schema)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, backlog=4096)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.bound_port = sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep_laggards(), name="hub-lag-sweep")
        log.info("hub listening on %s", self.url)

    async def stop(self, timeout: float = 1.5) -> None:
        """Stop accepting, close every client with 1001 (going away) within
        `timeout`, then release the port; the hub is done for good."""
        self._unsubscribe()
        await self.stop_listening(timeout)

    async def stop_listening(self, timeout: float = 1.5) -> None:
        """Close every client with 1001 and release the port, but keep the
        bus subscription, the history and the stream: `start` listens again,
        and clients resume across the gap with nothing lost."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._runner is None:
            return
        clients, self._clients = self._clients, {}
        if clients:
            plural = "" if len(clients) == 1 else "s"
            log.info("hub closing %d client%s (1001)", len(clients), plural)
        for client in clients:
            client.close()
        closing = [
            asyncio.ensure_future(
                ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown", drain=False)
            )
            for ws in clients.values()
        ]
        if closing:
            await asyncio.wait(closing, timeout=timeout)
        for client in clients:
            # A peer that did not take its close frame in time is cut off.
            client.abort_if_stuck()
        try:
            await asyncio.wait_for(self._runner.cleanup(), timeout)
        except TimeoutError:
            # A handler still finishing with a vanished peer: the port is
            # released all the same, and shutdown keeps its deadline.
            log.warning("hub handlers still busy after %.1f s; leaving them", timeout)
        self._runner = None

    def _on_event(self, event: Event) -> None:
        frame = event_frame(event)
        self._history.append(event, frame)
        # Serialized and framed once: every client that keeps up gets these
        # very bytes.
        wire = text_frame(frame.encode())
        event_type, source, seq = event.type, event.source.name, event.seq
        written = 0
        overflowed = []
        for client in self._clients:
            if event_type not in client.types:
                continue
            try:
                if client.deliver(event_type, source, seq, wire):
                    written += 1
            except OutboxOverflow as exc:
                overflowed.append((client, str(exc)))
        self.stats.frames_sent += written
        self.stats.bytes_sent += written * len(wire)
        for client, reason in overflowed:
            self._drop_slow(client, reason)

    async def _sweep_laggards(self) -> None:
        """Close the clients that have been behind longer than the limit,
        whether or not anything is published meanwhile."""
        loop = asyncio.get_running_loop()
        interval = min(1.0, self._lag_limit / 4)
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            late = [
                client
                for client in self._clients
                if client.behind_since is not None
                and now - client.behind_since > self._lag_limit
            ]
            for client in late:
                self._drop_slow(client, f"behind for over {self._lag_limit:g} s")

    def _drop_slow(self, client: Client, reason: str) -> None:
        ws = self._clients.pop(client, None)
        if ws is None:
            return
        log.warning("hub client %s too slow (%s): closing it (%d now)", client.name, reason,
                    len(self._clients))
        self.stats.clients_closed_slow += 1
        client.close()
        task = asyncio.ensure_future(self._close_slow(client, ws))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_slow(self, client: Client, ws: web.WebSocketResponse) -> None:
        """Send 1013 behind what the client has yet to read; cut the link if
        it has not read that far within the grace period."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow", drain=False),
                CLOSE_GRACE_S,
            )
        asyncio.get_running_loop().call_later(CLOSE_GRACE_S, client.abort_if_stuck)

    async def _schema(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"events": events_json_schema(), "frames": frames_json_schema()}
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 with each source's state when healthy, 503 with the reasons
        when not; never a credential, only what the events already say.
        Without the token (when one is set) only the status: a load
        balancer needs no more, and the reasons may name hosts."""
        report = source_health(self._bus.latest())
        ok = healthy(report)
        body: dict[str, object] = {"status": "ok" if ok else "degraded",
                                   "chain": chain_source(report)}
        if self._access.authorized(request.headers, request.query):
            body["sources"] = report
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _snapshot(self, request: web.Request) -> web.Response:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        events = self._bus.latest()
        return web.Response(
            text="[" + ",".join(e.model_dump_json() for e in events) + "]",
            content_type="application/json",
        )

    @web.middleware
    async def _loopback_names_only(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if not self._access.host_allowed(request.host):
            return self._refuse(request, FOREIGN_HOST)
        return await handler(request)

    def _refuse(self, request: web.Request, refusal: Refusal) -> web.Response:
        self.stats.refused[refusal.reason] += 1
        log.info("hub refused %s: %s", request.remote or "?", refusal.message)
        headers = {"WWW-Authenticate": 'Bearer realm="blocksight"'} if refusal.status == 401 else {}
        if refusal.status == 503:
            headers["Retry-After"] = "30"
        return web.json_response(
            {"error": refusal.reason, "message": refusal.message},
            status=refusal.status,
            headers=headers,
        )

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        """For the HTTP answers that carry events: the same token as /ws."""
        if self._access.authorized(request.headers, request.query):
            return None
        return self._refuse(request, UNAUTHORIZED)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        refusal = self._access.refusal(
            request.headers, request.query, request.host, request.scheme, len(self._clients)
        )
        if refusal is not None:
            return self._refuse(request, refusal)
        # `timeout` bounds the wait for a peer's close reply: a vanished peer
        # must not hold a handler (and so shutdown) for aiohttp's default 10 s.
        # A bigger frame than `max_msg_size` is closed with 1009 by aiohttp,
        # which also refuses one of exactly that size: hence the + 1, so that
        # "at most max_message_bytes" holds to the byte.
        # No compression, so a frame's bytes are the same for every client
        # and aiohttp writes its own frames (pings, close) whole, in one step.
        ws = web.WebSocketResponse(
            heartbeat=self._heartbeat,
            max_msg_size=self._max_message_bytes + 1,
            timeout=CLOSE_TIMEOUT_S,
            compress=False,
        )
        payload_writer = await ws.prepare(request)
        transport = request.transport
        if transport is None or ws.compress:
            await ws.close()
            return ws
        # The transport pauses its writers at the limit: past it, events wait
        # in the client's outbox, where they coalesce.
        transport.set_write_buffer_limits(high=self._write_limit)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
        peer = request.remote or "?"
        client = Client(
            peer,
            ws,
            transport,
            payload_writer.drain,
            self.stats,
            asyncio.get_running_loop().time,
            self._write_limit,
        )
        budget = MessageBudget(self._messages_per_second)
        # Snapshot and registration in one synchronous step: no event can fall
        # between them, nor reach the client twice.
        client.send(hello_frame(f"blocksight/{__version__}", time.time(), self.stream))
        client.send(snapshot_frame(self._bus.latest()))
        client.joined_seq = self._bus.last_seq
        self._clients[client] = ws
        log.info("hub client %s connected (%d now)", peer, len(self._clients))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    error = ws.exception()
                    if isinstance(error, asyncio.TimeoutError):
                        # aiohttp's heartbeat: no pong in time.
                        self.stats.clients_closed_heartbeat += 1
                        log.info("hub client %s missed its heartbeat", peer)
                    elif getattr(error, "code", None) == WSCloseCode.MESSAGE_TOO_BIG:
                        # aiohttp has closed it with 1009 already.
                        self.stats.clients_closed_too_big += 1
                        log.info("hub client %s sent a frame over %d bytes", peer,
                                 self._max_message_bytes)
                    break
                if client not in self._clients:
                    break
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                fault: tuple[ErrorCode, str] | None = None
                if not budget.allow_message():
                    fault = ("rate_limited", "too many messages; slow down")
                elif msg.type == WSMsgType.BINARY:
                    fault = ("bad_json", "binary frames are not read")
                else:
                    fault = self._handle(client, msg.data)
                if fault is None:
                    continue
                if not budget.forgive_fault():
                    log.warning(
                        "hub client %s keeps sending refused messages: closing it", peer
                    )
                    self.stats.clients_closed_abuse += 1
                    await ws.close(
                        code=WSCloseCode.POLICY_VIOLATION, message=b"too many refused messages"
                    )
                    break
                if len(client.outbox) <= self._max_pending:
                    client.send(error_frame(*fault))
        finally:
            # Not there any more when the hub closed it on stopping: that was
            # said once for all of them.
            left = self._clients.pop(client, None) is not None
            client.close()
            if not ws.closed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ws.close(drain=False), CLOSE_GRACE_S)
            if left:
                log.info("hub client %s left (%d now)", peer, len(self._clients))
        return ws

    def _handle(self, client: Client, raw: str) -> tuple[ErrorCode, str] | None:
        """Answer one client message; a bad one is returned as the fault to
        answer with an `error` frame (the connection stays)."""
        if len(client.outbox) > self._max_pending:
            log.debug("hub client %s has too much unread: request ignored", client.name)
            return None
        try:
            message = parse_client_message(raw)
            if isinstance(message, Subscribe):
                added = expand(message.types)
                client.types = added if not client.subscribed else client.types | added
                client.subscribed = True
            elif isinstance(message, Unsubscribe):
                client.types = client.types - expand(message.types)
                client.subscribed = True
            elif isinstance(message, SnapshotRequest):
                client.send(snapshot_frame(self._bus.latest(client.types)))
            elif isinstance(message, Ping):
                client.send(pong_frame(time.time()))
            elif isinstance(message, Resume):
                self._resume(client, message)
        except ProtocolError as exc:
            return exc.code, exc.message
        return None

    def _resume(self, client: Client, message: Resume) -> None:
        """Replay the subscribed events the client missed before it joined,
        or send a fresh snapshot when the history no longer covers the gap."""
        missed = None
        if message.stream in (None, self.stream):
            missed = self._history.since(message.last_seq, client.joined_seq, client.types)
        if missed is None:
            fresh = snapshot_frame(self._bus.latest(client.types), fresh=True)
            client.send(fresh)
            return
        for _, frame in missed:
            client.send(frame)

