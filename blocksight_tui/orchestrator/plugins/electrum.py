"""What the Electrum server says: its tip and fees, kept apart from Core's so
the two can be cross-checked: a server more than two blocks behind the node
is flagged as lagging."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Final

from blocksight_tui.events import (
    CHAIN_SOURCES,
    ChainReorgEvent,
    Event,
    NetworkFeesEvent,
    SourceInfo,
    TipHeightEvent,
)
from blocksight_tui.orchestrator.plugins.base import ContextPlugin

SOURCE: Final = "electrum"
MAX_LAG_BLOCKS: Final = 2


@dataclass(frozen=True)
class ElectrumState:
    configured: bool = False
    source: SourceInfo | None = None
    """The latest source info: state, reason, and which server answers."""
    tip: TipHeightEvent | None = None
    fees: NetworkFeesEvent | None = None
    node_height: int | None = None
    """The node's own tip height, for the cross-check."""
    reorg_count: int = 0
    events_seen: int = 0

    @property
    def lag(self) -> int | None:
        """Blocks the Electrum server is behind the node (negative: ahead)."""
        if self.node_height is None or self.tip is None or self.tip.data is None:
            return None
        return self.node_height - self.tip.data.height

    @property
    def lagging(self) -> bool:
        lag = self.lag
        return lag is not None and lag > MAX_LAG_BLOCKS


class ElectrumPlugin(ContextPlugin):
    name: ClassVar[str] = "electrum"

    def __init__(self, configured: bool = False) -> None:
        self._configured = configured
        self._state = ElectrumState(configured=configured)

    @property
    def state(self) -> ElectrumState:
        return self._state

    def reset(self) -> None:
        self._state = ElectrumState(configured=self._configured)

    def accepts(self, event: Event) -> bool:
        return event.source.name == SOURCE or (
            isinstance(event, TipHeightEvent) and event.source.name in CHAIN_SOURCES
        )

    def handle(self, event: Event) -> bool:
        old = self._state
        if event.source.name != SOURCE:
            if isinstance(event, TipHeightEvent) and event.data is not None:
                self._state = replace(old, node_height=event.data.height)
            return self._state != old
        new = replace(old, source=event.source, events_seen=old.events_seen + 1, configured=True)
        if isinstance(event, TipHeightEvent):
            new = replace(new, tip=event)
        elif isinstance(event, NetworkFeesEvent):
            new = replace(new, fees=event)
        elif isinstance(event, ChainReorgEvent) and event.data is not None:
            new = replace(new, reorg_count=old.reorg_count + 1)
        self._state = new
        return True
