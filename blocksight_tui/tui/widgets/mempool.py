"""The mempool: how many transactions, how big, how full, the entry fee."""

from __future__ import annotations

from rich.text import Text

from blocksight_tui.events import NetworkMempoolEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Panel


class MempoolPanel(Panel):
    TITLE = "mempool"

    def lines(self, data: NetworkMempoolEvent, width: int) -> list[str | Text]:
        m = data.data
        assert m is not None
        out: list[str | Text] = [
            Text(fmt.pair("txs", fmt.count(m.tx_count), width), style="bold"),
            fmt.pair("size", fmt.vsize(m.vsize), width),
        ]
        if m.max_usage:
            fraction = m.usage / m.max_usage
            share = fmt.percent(fraction, 0)
            bar_width = max(0, width - len("mem ") - len(share) - 1)
            line = Text("mem ")
            line.append(fmt.bar(fraction, bar_width), style="reverse" if fraction >= 0.9 else "")
            line.append(" " + share)
            out.append(line)
            out.append(fmt.pair("", f"{fmt.size(m.usage)} / {fmt.size(m.max_usage)}", width))
        else:
            out.append(fmt.pair("mem", fmt.size(m.usage), width))
        out.append(fmt.pair("min fee", fmt.sat_vb(m.min_fee_sat_per_vb), width))
        if m.total_fee_btc is not None:
            out.append(fmt.pair("fees", fmt.btc(m.total_fee_btc), width))
        if m.loaded is False:
            out.append(Text("still loading", style="italic"))
        return out
