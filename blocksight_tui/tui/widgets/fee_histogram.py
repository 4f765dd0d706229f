"""The mempool's fee histogram at full size (the `m` screen): bars as tall
as the box allows, fee-rate ticks, and where the node's fee estimates fall
among them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from blocksight_tui.events import NetworkFeesEvent, NetworkMempoolEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.render.histogram import fee_histogram, marker_line
from blocksight_tui.tui.widgets.panel import Entry, Panel

MARKED_TARGETS = (1, 6, 144)
WIDEST_BAR = 6
OTHER_LINES = 3
"""Summary, axis, estimate marks."""


@dataclass(frozen=True)
class HistogramSlice:
    mempool: NetworkMempoolEvent | None = None
    fees: NetworkFeesEvent | None = None


def estimate_marks(fees: NetworkFeesEvent | None) -> list[tuple[str, float]]:
    """('▲1', rate) for the economical estimates of a few targets."""
    if fees is None or fees.data is None:
        return []
    rates = {
        e.target_blocks: e.sat_per_vb
        for e in fees.data.estimates
        if e.mode == "economical" and e.sat_per_vb is not None
    }
    return [(f"▲{t}", rates[t]) for t in MARKED_TARGETS if t in rates]


class FeeHistogramPanel(Panel):
    TITLE = "fee histogram · ▲n: estimate for n blocks"

    def primary(self, data: HistogramSlice) -> NetworkMempoolEvent | None:
        return data.mempool

    def lines(self, data: HistogramSlice, width: int) -> Sequence[Entry]:
        assert data.mempool is not None and data.mempool.data is not None
        m = data.mempool.data
        summary = (
            f"{fmt.count(m.tx_count) if m.tx_count is not None else fmt.NO_VALUE} tx · "
            f"{fmt.vsize(m.vsize)} · "
            f"min fee {fmt.sat_vb(m.min_fee_sat_per_vb)}"
        )
        out: list[Entry] = [Text(fmt.truncate(summary, width), style="bold")]
        if not m.fee_histogram:
            out.append(Text("no fee histogram from this source", style="italic"))
            return out
        rows = max(1, self.size.height - OTHER_LINES)
        picture = fee_histogram(m.fee_histogram, width, rows, unit="sat/vB", max_cells=WIDEST_BAR)
        if picture.empty:
            out.append(Text("the mempool is empty", style="italic"))
            return out
        out.extend(picture.rows)
        out.append(Text(picture.axis, style="dim"))
        marks = marker_line(picture.columns, estimate_marks(data.fees), width)
        if marks.strip():
            out.append(Text(marks, style="bold"))
        return out
