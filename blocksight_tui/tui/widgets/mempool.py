"""The mempool: how many transactions, how big, how full, the entry fee, and
a fee histogram of what waits (fee rate left to right, size upwards)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import NetworkMempool, NetworkMempoolEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.render.histogram import fee_histogram
from blocksight_tui.tui.widgets.panel import Entry, Line, Panel

MAX_BAR_ROWS = 4
OTHER_LINES = 6
"""Lines besides the bars when everything shows: counts, memory ×2, min fee, fees, axis."""


def counts_line(m: NetworkMempool, width: int) -> list[Entry]:
    """'45,123 tx   25.3 MvB' on one line when it fits, else two."""
    count = fmt.count(m.tx_count) if m.tx_count is not None else fmt.NO_VALUE
    txs, size = f"{count} tx", fmt.vsize(m.vsize)
    if len(txs) + 1 + len(size) <= width:
        return [Text(fmt.pair(txs, size, width), style="bold")]
    return [
        Text(fmt.pair("txs", count, width), style="bold"),
        fmt.pair("size", size, width),
    ]


class MempoolPanel(Panel):
    TITLE = "mempool"

    def lines(self, data: NetworkMempoolEvent, width: int) -> Sequence[Entry]:
        m = data.data
        assert m is not None
        out: list[Entry] = [*counts_line(m, width)]
        if m.max_usage and m.usage is not None:
            fraction = m.usage / m.max_usage
            share = fmt.percent(fraction, 0)
            bar_width = max(0, width - len("mem ") - len(share) - 1)
            line = Text("mem ")
            line.append(fmt.bar(fraction, bar_width), style="reverse" if fraction >= 0.9 else "")
            line.append(" " + share)
            out.append(line)
            usage = f"{fmt.size(m.usage)} / {fmt.size(m.max_usage)}"
            out.append(Line(fmt.pair("", usage, width), rank=3))
        elif m.usage is not None:
            out.append(fmt.pair("mem", fmt.size(m.usage), width))
        out.append(Line(fmt.pair("min fee", fmt.sat_vb(m.min_fee_sat_per_vb), width), rank=1))
        if m.total_fee_btc is not None:
            out.append(Line(fmt.pair("fees", fmt.btc(m.total_fee_btc), width), rank=2))
        if m.loaded is False:
            out.append(Text("still loading", style="italic"))
        if m.fee_histogram:
            rows = min(MAX_BAR_ROWS, max(1, self.size.height - OTHER_LINES))
            picture = fee_histogram(m.fee_histogram, width, rows, unit="sat/vB")
            if not picture.empty:
                out.extend(picture.rows)
                out.append(Text(picture.axis, style="dim"))
        return out
