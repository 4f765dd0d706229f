"""Fee estimates by confirmation target, in sat/vB (the unit is in the title)."""

from __future__ import annotations

from rich.text import Text

from blocksight_tui.events import FeeEstimate, NetworkFeesEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Panel


def by_target(estimates: tuple[FeeEstimate, ...]) -> list[FeeEstimate]:
    """One estimate a target, economical preferred, lowest target first."""
    chosen: dict[int, FeeEstimate] = {}
    for e in estimates:
        if e.target_blocks not in chosen or e.mode == "economical":
            chosen[e.target_blocks] = e
    return [chosen[t] for t in sorted(chosen)]


class FeesPanel(Panel):
    TITLE = "fees sat/vB"

    def lines(self, data: NetworkFeesEvent, width: int) -> list[str | Text]:
        fees = data.data
        assert fees is not None
        if not fees.estimates:
            return [Text("no estimates yet", style="italic")]
        out: list[str | Text] = []
        for e in by_target(fees.estimates):
            rate = fmt.fee_rate(e.sat_per_vb)
            label = f"{e.target_blocks:>3} blk {fmt.eta_blocks(e.target_blocks):>5}"
            if len(label) + 1 + len(rate) > width:
                label = f"{e.target_blocks:>3} blk"
            line = fmt.pair(label, rate, width)
            out.append(Text(line, style="bold") if not out else line)
        return out
