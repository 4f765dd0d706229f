"""A real WebSocket client of the hub, for the integration tests."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp


class HubClient:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._session = session
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, url: str) -> HubClient:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def close(self) -> None:
        await self.ws.close()
        await self._session.close()

    async def next_frame(self, timeout: float) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"hub sent {msg.type.name}: {msg.data!r}")
        frame: dict[str, Any] = json.loads(msg.data)
        self.frames.append(frame)
        return frame

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        """The first frame from now on that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame in time")
            try:
                frame = await self.next_frame(left)
            except TimeoutError as exc:
                raise TimeoutError("no matching frame in time") from exc
            if predicate(frame):
                return frame

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        out = []
        for frame in self.frames:
            batch = frame["events"] if frame["frame"] == "snapshot" else (
                [frame["event"]] if frame["frame"] == "event" else []
            )
            out += [e for e in batch if event_type is None or e["type"] == event_type]
        return out


class RawPeer:
    """A WebSocket client on a bare socket that reads only when told to, with
    a small receive buffer so the kernel does not hide that it stopped: a
    peer that falls behind, or one that stops answering pings."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, url: str, receive_buffer: int = 4096) -> RawPeer:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the window the peer advertises stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=receive_buffer)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def read_frames(self, timeout: float) -> tuple[list[dict[str, Any]], int | None]:
        """Read until the hub closes: its text frames, and its close code
        (None when the connection ended without a close frame)."""
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                try:
                    opcode, payload = await self._read_frame()
                except (asyncio.IncompleteReadError, ConnectionError):
                    return frames, None
                if opcode == 0x8:
                    return frames, int.from_bytes(payload[:2], "big")
                if opcode == 0x1:
                    frames.append(json.loads(payload))

    def close(self) -> None:
        self.writer.transport.abort()

    async def next_frame(self, timeout: float) -> dict[str, Any]:
        """The next text frame; ConnectionError if the hub closes instead."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self._read_frame()
                if opcode == 0x8:
                    raise ConnectionError(f"closed {int.from_bytes(payload[:2], 'big')}")
                if opcode == 0x1:
                    frame: dict[str, Any] = json.loads(payload)
                    return frame

    async def _read_frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)
