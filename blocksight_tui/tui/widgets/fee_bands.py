"""The mempool's fee bands as a table, highest first (the `m` screen)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import NetworkMempoolEvent
from blocksight_tui.render.histogram import band_table
from blocksight_tui.tui.widgets.panel import Entry, Panel


class FeeBandsPanel(Panel):
    TITLE = "fee bands · blocks: to clear this band and all above"
    FIT = False

    def lines(self, data: NetworkMempoolEvent, width: int) -> Sequence[Entry]:
        m = data.data
        assert m is not None
        if not m.fee_histogram:
            return [Text("no fee bands from this source", style="italic")]
        header, rows = band_table(m.fee_histogram, width)
        if not rows:
            return [Text(header, style="bold"), Text("the mempool is empty", style="italic")]
        return [Text(header, style="bold"), *rows]
