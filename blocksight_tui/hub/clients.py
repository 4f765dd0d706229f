"""One connected client: a bounded outbox that coalesces by event type, and
the task that drains it into the socket.

A slow reader only ever holds the newest pending frame of each type (plus
every pending reorg, which is never dropped), so it costs the server a bounded
amount of memory and never delays anyone else.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from blocksight_tui.events import EVENT_TYPES, EventType

log = logging.getLogger(__name__)

MAX_PENDING_REORGS: Final = 64
NEVER_COALESCED: Final = frozenset({"chain.reorg"})


class OutboxOverflow(Exception):
    pass


class Outbox:
    def __init__(self, max_pending_reorgs: int = MAX_PENDING_REORGS) -> None:
        # key -> (order, frame): events are keyed by type (by seq for reorgs)
        # and ordered by seq; control frames go after what was put before them.
        self._pending: dict[str | int, tuple[tuple[int, int], str]] = {}
        self._high_seq = 0
        self._reorgs = 0
        self._max_reorgs = max_pending_reorgs
        self._ready = asyncio.Event()
        self._control_keys = itertools.count(-1, -1)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, event_type: str, seq: int, frame: str) -> None:
        if event_type in NEVER_COALESCED:
            if self._reorgs >= self._max_reorgs:
                raise OutboxOverflow(f"{self._reorgs} reorg frames pending")
            self._reorgs += 1
            self._pending[seq] = ((seq, 0), frame)
        else:
            if event_type in self._pending:
                self.dropped += 1
            self._pending[event_type] = ((seq, 0), frame)
        self._high_seq = max(self._high_seq, seq)
        self._ready.set()

    def put_frame(self, frame: str) -> None:
        """A frame never coalesced (hello, snapshot, pong, a resume's replay),
        sent after everything put before it and before any newer event."""
        key = next(self._control_keys)
        self._pending[key] = ((self._high_seq, -key), frame)
        self._ready.set()

    async def take(self) -> list[str]:
        """Wait for frames, then take them all, oldest first."""
        await self._ready.wait()
        items = sorted(self._pending.values(), key=lambda item: item[0])
        self._pending.clear()
        self._reorgs = 0
        self._ready.clear()
        return [frame for _, frame in items]


SendText = Callable[[str], Awaitable[None]]


class ClientSender:
    """Drains one client's outbox; a send that takes longer than
    `send_timeout` means the client is gone or hopeless, and ends it."""

    def __init__(self, name: str, send: SendText, send_timeout: float = 10.0) -> None:
        self.name = name
        self.outbox = Outbox()
        self._send = send
        self._send_timeout = send_timeout
        self.frames_sent = 0
        # What the client asked for: every type until its first subscribe.
        self.types: frozenset[EventType] = frozenset(EVENT_TYPES)
        self.subscribed = False
        # The last event already in the client's stream when it connected: a
        # resume replays up to here, later events reach it live.
        self.joined_seq = 0

    async def run(self) -> None:
        while True:
            frames = await self.outbox.take()
            for frame in frames:
                await asyncio.wait_for(self._send(frame), self._send_timeout)
                self.frames_sent += 1
