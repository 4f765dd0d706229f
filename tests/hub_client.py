"""A real WebSocket client of the hub, for the integration tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

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
