"""One connected client: what it asked for, a bounded outbox that coalesces
by event type, and the way its frames reach the socket.

A client that keeps up costs one `transport.write` of bytes built once for
everyone; it has no task of its own. A client that falls behind (its socket's
write buffer is full) gets its frames through the outbox, drained by a task
that waits for the socket, and holds only the newest pending frame of each
type and source (plus every pending reorg, which is never dropped): a bounded
amount of memory that never delays anyone else.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from blocksight_tui.events import EVENT_TYPES, EventType

log = logging.getLogger(__name__)

MAX_PENDING_REORGS: Final = 64
NEVER_COALESCED: Final = frozenset({"chain.reorg"})

Frame = TypeVar("Frame")


class OutboxOverflow(Exception):
    pass


@dataclass
class HubStats:
    """Running totals for /metrics; only integer adds on the hot path."""

    frames_sent: int = 0
    bytes_sent: int = 0
    frames_coalesced: int = 0
    clients_closed_slow: int = 0
    clients_closed_heartbeat: int = 0
    clients_closed_abuse: int = 0
    clients_closed_too_big: int = 0
    # Connections refused before the handshake, by reason (token, origin, ...).
    refused: Counter[str] = field(default_factory=Counter)


class Outbox(Generic[Frame]):
    """Frames waiting for a client that is behind, oldest first on `take`."""

    def __init__(self, max_pending_reorgs: int = MAX_PENDING_REORGS) -> None:
        # key -> (order, frame): events are keyed by type and source (by seq
        # for reorgs) and ordered by seq; control frames go after what was put
        # before them.
        self._pending: dict[object, tuple[tuple[int, int], Frame]] = {}
        self._high_seq = 0
        self._reorgs = 0
        self._max_reorgs = max_pending_reorgs
        self._control_keys = itertools.count(-1, -1)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, event_type: str, seq: int, frame: Frame, source: str = "") -> bool:
        """Queue an event's frame; True when it superseded a pending one."""
        superseded = False
        if event_type in NEVER_COALESCED:
            if self._reorgs >= self._max_reorgs:
                raise OutboxOverflow(f"{self._reorgs} reorg frames pending")
            self._reorgs += 1
            self._pending[seq] = ((seq, 0), frame)
        else:
            # Per source, as in the snapshot: Core's tip must not be
            # superseded by an Electrum server's.
            key = (event_type, source)
            if key in self._pending:
                self.dropped += 1
                superseded = True
            self._pending[key] = ((seq, 0), frame)
        self._high_seq = max(self._high_seq, seq)
        return superseded

    def put_frame(self, frame: Frame) -> None:
        """A frame never coalesced (hello, snapshot, pong, a resume's replay),
        sent after everything put before it and before any newer event."""
        key = next(self._control_keys)
        self._pending[key] = ((self._high_seq, -key), frame)

    def take(self) -> list[Frame]:
        """Take every pending frame, oldest first."""
        items = sorted(self._pending.values(), key=lambda item: item[0])
        self._pending.clear()
        self._reorgs = 0
        return [frame for _, frame in items]


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...
    def abort(self) -> None: ...


class Socket(Protocol):
    @property
    def closed(self) -> bool: ...


_PACK_SHORT: Final = struct.Struct("!BB").pack
_PACK_MEDIUM: Final = struct.Struct("!BBH").pack
_PACK_LONG: Final = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    """A whole unmasked, uncompressed WebSocket text frame (RFC 6455 5.2):
    what a server writes, so it can be built once and written to every
    client whose connection negotiated no extension."""
    size = len(payload)
    if size < 126:
        header = _PACK_SHORT(0x81, size)
    elif size < 65536:
        header = _PACK_MEDIUM(0x81, 126, size)
    else:
        header = _PACK_LONG(0x81, 127, size)
    return header + payload


class Client:
    """One WebSocket client of the hub.

    `transport` is the connection's, shared with the WebSocket library: frames
    are written to it whole and synchronously, so they never interleave with
    the library's own (pings, the close frame). `drain` waits until the
    transport's buffer is below its high-water mark.
    """

    def __init__(
        self,
        name: str,
        socket: Socket,
        transport: Transport,
        drain: Callable[[], Awaitable[None]],
        stats: HubStats,
        clock: Callable[[], float],
        write_limit: int,
    ) -> None:
        self.name = name
        self.outbox: Outbox[bytes] = Outbox()
        self._socket = socket
        self._transport = transport
        # Bound once: these run for every client on every event.
        self._write = transport.write
        self._buffered = transport.get_write_buffer_size
        self._transport_closing = transport.is_closing
        self._drain = drain
        self._stats = stats
        self._clock = clock
        self._write_limit = write_limit
        self._drainer: asyncio.Task[None] | None = None
        self._closing = False
        # When the client last fell behind, None while it keeps up: the hub
        # closes a client that stays behind too long.
        self.behind_since: float | None = None
        # What the client asked for: every type until its first subscribe.
        self.types: frozenset[EventType] = frozenset(EVENT_TYPES)
        self.subscribed = False
        # The last event already in the client's stream when it connected: a
        # resume replays up to here, later events reach it live.
        self.joined_seq = 0

    @property
    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self._buffered()

    def deliver(self, event_type: str, source: str, seq: int, wire: bytes) -> bool:
        """Hand over an event's frame; True when it was written at once.

        Written at once only while nothing of the client's waits and its
        buffer is low: frames stay in order, and a client that does not read
        grows no buffer past `write_limit`."""
        # _writable_now(), inlined: this runs for every client on every event.
        if (
            self._drainer is None
            and self._buffered() < self._write_limit
            and not self._closing
            and not self._transport_closing()
            and not self._socket.closed
        ):
            self._write(wire)
            return True
        if self._closing:
            return False
        if self.outbox.put(event_type, seq, wire, source):
            self._stats.frames_coalesced += 1
        self._start_drainer()
        return False

    def send(self, text: str) -> None:
        """A control frame (hello, snapshot, pong, error, a replayed event),
        in order after everything handed over before it."""
        if self._closing:
            return
        wire = text_frame(text.encode())
        if self._writable_now():
            self._write(wire)
            self._stats.frames_sent += 1
            self._stats.bytes_sent += len(wire)
            return
        self.outbox.put_frame(wire)
        self._start_drainer()

    def _writable_now(self) -> bool:
        """Nothing of the client's waits, its buffer is low, and its
        connection is open: a frame written now keeps the order."""
        return (
            self._drainer is None
            and self._buffered() < self._write_limit
            and not self._closing
            and not self._transport_closing()
            and not self._socket.closed
        )

    def close(self) -> None:
        """Write nothing more; the socket is being closed."""
        self._closing = True
        if self._drainer is not None:
            self._drainer.cancel()

    def abort_if_stuck(self) -> None:
        """Cut the connection if bytes still wait to be sent: a closed peer
        that does not read would otherwise hold it open for ever."""
        if self._transport.get_write_buffer_size() > 0:
            self._transport.abort()

    def _start_drainer(self) -> None:
        if self._drainer is None:
            self.behind_since = self._clock()
            self._drainer = asyncio.get_running_loop().create_task(
                self._drain_outbox(), name=f"hub-drain:{self.name}"
            )

    async def _drain_outbox(self) -> None:
        caught_up = False
        try:
            while frames := self.outbox.take():
                for wire in frames:
                    await self._drain()
                    if self._closing or self._transport_closing() or self._socket.closed:
                        return
                    self._write(wire)
                    self._stats.frames_sent += 1
                    self._stats.bytes_sent += len(wire)
            caught_up = True
        except ConnectionError:
            # The connection is gone; the hub's handler sees it and cleans up.
            pass
        finally:
            self._drainer = None
            if caught_up:
                self.behind_since = None
