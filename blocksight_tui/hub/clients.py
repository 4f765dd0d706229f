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

log = logging.getLogger(__name__)

MAX_PENDING_REORGS: Final = 64
NEVER_COALESCED: Final = frozenset({"chain.reorg"})


class OutboxOverflow(Exception):
    pass


class Outbox:
    def __init__(self, max_pending_reorgs: int = MAX_PENDING_REORGS) -> None:
        self._pending: dict[str | int, tuple[int, str]] = {}
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
            self._pending[seq] = (seq, frame)
        else:
            if event_type in self._pending:
                self.dropped += 1
            self._pending[event_type] = (seq, frame)
        self._ready.set()

    def put_frame(self, frame: str) -> None:
        """A control frame (hello, snapshot): sent before any pending event."""
        self._pending[next(self._control_keys)] = (-1, frame)
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

    async def run(self) -> None:
        while True:
            frames = await self.outbox.take()
            for frame in frames:
                await asyncio.wait_for(self._send(frame), self._send_timeout)
                self.frames_sent += 1
