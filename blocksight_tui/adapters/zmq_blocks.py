"""Block notifications pushed by the node over ZMQ (`hashblock`, `sequence`).

A notification only wakes the tip poll: the poll then reads the tip over RPC
as usual, so ZMQ makes a block show within a second without being a second
source of truth, and a lost notification costs no more than one poll interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import zmq
import zmq.asyncio

log = logging.getLogger(__name__)

BLOCK_TOPICS: Final = (b"hashblock", b"sequence")
MAX_MESSAGE_BYTES: Final = 1024
"""hashblock and sequence frames are tens of bytes; anything larger is refused."""


@dataclass(frozen=True)
class BlockNotice:
    topic: str
    block_hash: str
    connected: bool
    """False for a `sequence` block-disconnected notice (a reorg in progress)."""


def parse_notice(frames: Sequence[bytes]) -> BlockNotice | None:
    """A `hashblock` frame or a `sequence` block (dis)connection; anything else
    (mempool sequence notices, other topics, malformed frames) gives None."""
    if len(frames) < 2:
        return None
    topic, body = frames[0], frames[1]
    if topic == b"hashblock" and len(body) == 32:
        return BlockNotice("hashblock", body.hex(), True)
    if topic == b"sequence" and len(body) >= 33 and body[32:33] in (b"C", b"D"):
        return BlockNotice("sequence", body[:32].hex(), body[32:33] == b"C")
    return None


def endpoints_from_notifications(result: Any, rpc_host: str) -> tuple[str, ...]:
    """Block endpoints from `getzmqnotifications`; a wildcard bind address is
    reached at the host we call RPC on."""
    if not isinstance(result, list):
        return ()
    found = []
    for item in result:
        if not isinstance(item, dict) or item.get("type") not in ("pubhashblock", "pubsequence"):
            continue
        address = str(item.get("address", ""))
        found.append(reachable(address, rpc_host))
    return tuple(dict.fromkeys(a for a in found if a))


def reachable(address: str, rpc_host: str) -> str:
    parts = urlsplit(address)
    if parts.scheme != "tcp" or parts.hostname not in ("0.0.0.0", "::", "*"):
        return address
    host = f"[{rpc_host}]" if ":" in rpc_host else rpc_host
    return f"tcp://{host}:{parts.port}"


class ZmqBlockListener:
    """Subscribes to block topics on the given endpoints and calls `on_block`
    for each notice. ZMQ reconnects by itself; this task only ends when
    stopped."""

    def __init__(self, endpoints: Iterable[str], on_block: Callable[[BlockNotice], None]) -> None:
        self.endpoints = tuple(endpoints)
        self._on_block = on_block
        self._context = zmq.asyncio.Context()
        self._task: asyncio.Task[None] | None = None
        self.notices = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="zmq-blocks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._context.destroy(linger=0)

    async def _run(self) -> None:
        socket = self._context.socket(zmq.SUB)
        socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        socket.setsockopt(zmq.RCVHWM, 1000)
        for topic in BLOCK_TOPICS:
            socket.setsockopt(zmq.SUBSCRIBE, topic)
        for endpoint in self.endpoints:
            socket.connect(endpoint)
        log.info("listening for blocks on %s", ", ".join(self.endpoints))
        try:
            while True:
                frames = await socket.recv_multipart()
                notice = parse_notice(frames)
                if notice is None:
                    continue
                self.notices += 1
                try:
                    self._on_block(notice)
                except Exception:
                    log.exception("block notice handler failed")
        finally:
            socket.close(linger=0)
