"""One line at the bottom: mode, hub, events seen, and how each source is doing.

Attached to a remote hub, the link's state comes right after the mode, as it
decides how far every figure can be trusted; its countdown ticks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget

from blocksight_tui.events import CHAIN_SOURCES, SourceInfo
from blocksight_tui.orchestrator.plugins.electrum import ElectrumState
from blocksight_tui.orchestrator.plugins.system import SystemState
from blocksight_tui.remote.state import LinkPhase, describe
from blocksight_tui.render import format as fmt

log = logging.getLogger(__name__)

SHORT_TYPES = {
    "tip.height": "tip",
    "network.fees": "fees",
    "network.mempool": "mempool",
    "chain.reorg": "reorg",
    "price.current": "price",
    "fx.rates": "fx",
    "blockchain.info": "info",
    "blockchain.network": "network",
    "blockchain.mining": "mining",
}
# Turned off is no worse than ok: the operator asked for it.
_RANK = {"off": -1, "ok": 0, "stale": 1, "unavailable": 2}
_STYLE = {"off": "dim", "ok": "", "stale": "bold yellow", "unavailable": "bold red"}
_LINK_STYLE: dict[LinkPhase, str] = {
    "connected": "green",
    "connecting": "bold yellow",
    "reconnecting": "bold yellow",
    "refused": "bold red",
    "unavailable": "bold red",
}
MODE_LABELS = {"attach": "ATTACHED"}


def source_summary(sources: tuple[tuple[str, SourceInfo], ...]) -> list[tuple[str, str]]:
    """(text, worst state) per source name, the chain source first, then in
    first-seen order: 'core ok',
    'prices stale' when all its types agree, else the odd ones out:
    'core: fees unavailable'."""
    by_name: dict[str, list[tuple[str, SourceInfo]]] = {}
    for event_type, info in sources:
        by_name.setdefault(info.name, []).append((event_type, info))
    out: list[tuple[str, str]] = []
    # The chain source first: the rest of the line matters less without it.
    ordered = sorted(by_name.items(), key=lambda item: item[0] not in CHAIN_SOURCES)
    for name, entries in ordered:
        states = {info.state for _, info in entries}
        worst = max(states, key=_RANK.__getitem__)
        if len(states) == 1:
            out.append((f"{name} {worst}", worst))
            continue
        bad = [f"{SHORT_TYPES.get(t, t)} {info.state}" for t, info in entries if info.state != "ok"]
        out.append((f"{name}: " + ", ".join(bad), worst))
    return out


class StatusBar(Widget):
    data: reactive[SystemState | None] = reactive(None)
    feed_error: reactive[str | None] = reactive(None)
    electrum: reactive[ElectrumState | None] = reactive(None)

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
    ) -> None:
        super().__init__(id=id)
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick, name="link-countdown")

    def _tick(self) -> None:
        link = self.data.link if self.data is not None else None
        if link is not None and link.retry_at is not None:
            self.refresh()

    def render(self) -> RenderResult:
        try:
            return self._line()
        except Exception as exc:
            log.exception("status bar failed to render")
            return Text(f"error: {type(exc).__name__}: {exc}")

    def _line(self) -> Text:
        state = self.data
        line = Text(no_wrap=True, overflow="ellipsis")
        if state is None:
            line.append("waiting…", style="italic")
            return line
        line.append(f" {MODE_LABELS.get(state.mode, state.mode.upper())} ", style="bold reverse")
        if state.link is not None:
            # Attached: the link first, then what it says of each source;
            # the count of events goes last, where the width runs out.
            line.append(" ")
            line.append(describe(state.link, self.clock()), style=_LINK_STYLE[state.link.phase])
            if state.link.phase != "connected":
                # Every source is stale for the same reason: the link says it.
                return line
        if self.feed_error:
            line.append(" feed error: ", style="bold red")
            line.append(self.feed_error, style="red")
        events = f"{fmt.count(state.events_seen)} events"
        if state.link is None:
            line.append(f" {events}")
        if state.hub_url:
            line.append(f" · {state.hub_url}")
        for text, source_state in source_summary(state.sources):
            line.append(" · ")
            line.append(text, style=_STYLE[source_state])
        electrum = self.electrum
        if electrum is not None and electrum.lagging:
            line.append(f" · electrum {electrum.lag} blocks behind the node", style="bold yellow")
        if state.link is not None:
            line.append(f" · {events}")
        return line
