"""What the Electrum server says: its tip and fees, kept apart from Core's so
the two can be cross-checked."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from blocksight_tui.events import Event, TipHeightEvent
from blocksight_tui.orchestrator.plugins.base import ContextPlugin


@dataclass(frozen=True)
class ElectrumState:
    configured: bool = False
    tip: TipHeightEvent | None = None
    events_seen: int = 0


class ElectrumPlugin(ContextPlugin):
    name: ClassVar[str] = "electrum"

    def __init__(self, configured: bool = False) -> None:
        self._state = ElectrumState(configured=configured)

    @property
    def state(self) -> ElectrumState:
        return self._state

    def accepts(self, event: Event) -> bool:
        return event.source.name == "electrum"

    def handle(self, event: Event) -> bool:
        old = self._state
        new = replace(old, events_seen=old.events_seen + 1)
        if isinstance(event, TipHeightEvent):
            new = replace(new, tip=event)
        self._state = new
        return True
