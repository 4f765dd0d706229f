"""The monitor itself: which mode it runs in, how each source is doing, how
many events went by."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from blocksight_tui.events import Event, SourceInfo
from blocksight_tui.orchestrator.plugins.base import ContextPlugin
from blocksight_tui.remote.state import LinkState

Mode = Literal["demo", "node", "attach"]


@dataclass(frozen=True)
class SystemState:
    mode: Mode = "node"
    label: str = ""
    """Where the data comes from: a node address, a hub URL, or the demo."""
    hub_url: str | None = None
    started_at: float = 0.0
    events_seen: int = 0
    last_event_at: float | None = None
    sources: tuple[tuple[str, SourceInfo], ...] = ()
    """Latest source info per event type, in first-seen order."""
    link: LinkState | None = None
    """Attached to a remote hub: how the link is doing."""


class SystemPlugin(ContextPlugin):
    name: ClassVar[str] = "system"

    def __init__(self, mode: Mode = "node", label: str = "", hub_url: str | None = None) -> None:
        self._state = SystemState(mode=mode, label=label, hub_url=hub_url, started_at=time.time())

    @property
    def state(self) -> SystemState:
        return self._state

    def reset(self) -> None:
        """Sources the fresh state does not name any more go; the count of
        events seen goes on."""
        self._state = replace(self._state, sources=())

    def hub_changed(self, hub_url: str | None) -> bool:
        """Where this process's hub listens; None when it could not start."""
        old = self._state
        self._state = replace(old, hub_url=hub_url)
        return self._state != old

    def link_changed(self, link: LinkState) -> bool:
        old = self._state
        self._state = replace(old, link=link)
        return self._state != old

    def accepts(self, event: Event) -> bool:
        return True

    def handle(self, event: Event) -> bool:
        old = self._state
        # Keyed by type and source: Core's tip and Electrum's tip both count.
        sources = {(t, info.name): info for t, info in old.sources}
        sources[(event.type, event.source.name)] = event.source
        self._state = replace(
            old,
            events_seen=old.events_seen + 1,
            last_event_at=event.ts,
            sources=tuple((t, info) for (t, _), info in sources.items()),
        )
        return True
