"""The WebSocket hub: the one place events leave the process.

On connect a client gets `hello`, then a `snapshot` of the latest event of
every type it is subscribed to, then each new `event`; it may narrow the
stream, ask for a snapshot, ping, or resume after a dropped link (see
docs/protocol.md). Each event is serialized once for all clients; each client
has its own outbox and sender task, so the hub never awaits one client before
serving the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
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
from blocksight_tui.hub.clients import ClientSender, OutboxOverflow
from blocksight_tui.hub.health import healthy, source_health
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
from blocksight_tui.hub.stats import HubStats

if TYPE_CHECKING:
    from blocksight_tui.settings import HubSettings

log = logging.getLogger(__name__)

HEARTBEAT_S: Final = 20.0
CLOSE_TIMEOUT_S: Final = 1.0
MAX_PENDING_ANSWERS: Final = 64


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
    ) -> None:
        self._bus = bus
        self._access = access or AccessPolicy()
        self._max_message_bytes = max_message_bytes
        self._messages_per_second = messages_per_second
        self.refused: Counter[str] = Counter()
        self.closed_for_abuse = 0
        self.stats = HubStats()
        self.metrics = Metrics()
        self.metrics.add(HubCollector(self))
        self.metrics.add(BusCollector(bus))
        self._history = EventHistory(bus.last_seq, history_size)
        # A client that keeps asking (snapshots, pings, resumes) but does not
        # read would pile up answers no coalescing can drop; past this bound
        # its requests go unanswered until it catches up.
        self._max_pending = history_size + MAX_PENDING_ANSWERS
        # Sequence numbers restart with the process; a resume naming another
        # stream gets a fresh snapshot rather than the wrong events.
        self.stream = uuid.uuid4().hex
        self._host = host
        self._port = port
        self._clients: set[ClientSender] = set()
        self._sockets: dict[ClientSender, web.WebSocketResponse] = {}
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
        )

    @property
    def client_count(self) -> int:
        return len(self._clients)

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
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.bound_port = sockets[0].getsockname()[1]
        log.info("hub listening on %s", self.url)

    async def stop(self, timeout: float = 1.5) -> None:
        """Stop accepting, close every client with 1001 (going away) within
        `timeout`, then release the port."""
        self._unsubscribe()
        if self._runner is None:
            return
        closing = [
            ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
            for ws in self._sockets.values()
        ]
        if closing:
            await asyncio.wait(
                [asyncio.ensure_future(c) for c in closing], timeout=timeout
            )
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
        for client in tuple(self._clients):
            if event.type not in client.types:
                continue
            try:
                client.outbox.put(event.type, event.seq, frame)
            except OutboxOverflow as exc:
                log.warning("hub client %s too slow (%s): closing it", client.name, exc)
                self._clients.discard(client)
                ws = self._sockets.get(client)
                if ws is not None:
                    asyncio.ensure_future(
                        ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                    )

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
        body: dict[str, object] = {"status": "ok" if ok else "degraded"}
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
        self.refused[refusal.reason] += 1
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
        # A bigger frame than `max_msg_size` is closed with 1009 by aiohttp.
        ws = web.WebSocketResponse(
            heartbeat=HEARTBEAT_S,
            max_msg_size=self._max_message_bytes,
            timeout=CLOSE_TIMEOUT_S,
            compress=False,
        )
        await ws.prepare(request)
        peer = request.remote or "?"
        stats = self.stats

        async def send(frame: str) -> None:
            await ws.send_str(frame)
            stats.frames_sent += 1
            stats.bytes_sent += len(frame)

        client = ClientSender(peer, send)
        budget = MessageBudget(self._messages_per_second)
        # Snapshot and registration in one synchronous step: no event can fall
        # between them, nor reach the client twice.
        client.outbox.put_frame(hello_frame(f"blocksight/{__version__}", time.time(), self.stream))
        client.outbox.put_frame(snapshot_frame(self._bus.latest()))
        client.joined_seq = self._bus.last_seq
        self._clients.add(client)
        self._sockets[client] = ws
        log.info("hub client %s connected (%d now)", peer, len(self._clients))
        sender = asyncio.create_task(client.run(), name=f"hub-send:{peer}")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR or sender.done():
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
                    log.warning("hub client %s keeps sending bad messages: closing it", peer)
                    self.closed_for_abuse += 1
                    await ws.close(
                        code=WSCloseCode.POLICY_VIOLATION, message=b"too many bad messages"
                    )
                    break
                if len(client.outbox) <= self._max_pending:
                    client.outbox.put_frame(error_frame(*fault))
        finally:
            self._clients.discard(client)
            self._sockets.pop(client, None)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            if not ws.closed:
                await ws.close()
            log.info("hub client %s left (%d now)", peer, len(self._clients))
        return ws

    def _handle(self, client: ClientSender, raw: str) -> tuple[ErrorCode, str] | None:
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
                client.outbox.put_frame(snapshot_frame(self._bus.latest(client.types)))
            elif isinstance(message, Ping):
                client.outbox.put_frame(pong_frame(time.time()))
            elif isinstance(message, Resume):
                self._resume(client, message)
        except ProtocolError as exc:
            return exc.code, exc.message
        return None

    def _resume(self, client: ClientSender, message: Resume) -> None:
        """Replay the subscribed events the client missed before it joined,
        or send a fresh snapshot when the history no longer covers the gap."""
        missed = None
        if message.stream in (None, self.stream):
            missed = self._history.since(message.last_seq, client.joined_seq, client.types)
        if missed is None:
            fresh = snapshot_frame(self._bus.latest(client.types), fresh=True)
            client.outbox.put_frame(fresh)
            return
        for _, frame in missed:
            client.outbox.put_frame(frame)
