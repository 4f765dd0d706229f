"""Helpers for the attach tests: a real hub on a fixed loopback port that can
be dropped and brought back, and a recording sink in front of a real
orchestrator."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

from blocksight_tui.events import Event
from blocksight_tui.hub.server import HubServer
from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.remote.state import LinkPhase, LinkState


def free_port() -> int:
    """A loopback port free now: the hub must come back on the same one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def drop_listener(hub: HubServer) -> None:
    """Stop the hub's listener and drop its clients, as a restart would, but
    keep the hub itself: its bus subscription, its history and its stream."""
    await hub.stop_listening()


async def until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class Recorder:
    """The link's sink: records what it is given and passes it on to a real
    MainOrchestrator."""

    def __init__(self, orchestrator: MainOrchestrator | None = None) -> None:
        self.orchestrator = orchestrator or MainOrchestrator.standard(mode="attach")
        self.events: list[Event] = []
        self.resets = 0
        self.links: list[LinkState] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)
        self.orchestrator.handle(event)

    def reset(self) -> None:
        self.resets += 1
        self.orchestrator.reset()

    def set_link(self, state: LinkState) -> None:
        self.links.append(state)
        self.orchestrator.set_link(state)

    @property
    def phases(self) -> list[LinkPhase]:
        """The phases in order, repeats folded."""
        out: list[LinkPhase] = []
        for state in self.links:
            if not out or out[-1] != state.phase:
                out.append(state.phase)
        return out

    @property
    def phase(self) -> LinkPhase | None:
        return self.links[-1].phase if self.links else None

    def state(self, name: str) -> Any:
        return self.orchestrator.state_of(name)
