"""Fee estimates by confirmation target, in sat/vB (the unit is in the title).

With both estimate modes the panel shows them side by side under a header,
economical then conservative (Core's default for wallets that cannot bump a
fee); the time column goes first when the width is short, then the
conservative one. When the box is short, targets 1, 3, 6 and 144 (next block,
half an hour, an hour, a day) stay longest.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import FeeEstimate, FeeMode, NetworkFeesEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Entry, Line, Panel

TARGET_RANK = {1: 0, 3: 1, 6: 1, 144: 1, 2: 2}
"""How soon a target's line goes when the panel is short; others rank 3."""


def by_target(estimates: tuple[FeeEstimate, ...]) -> list[FeeEstimate]:
    """One estimate a target, economical preferred, lowest target first."""
    chosen: dict[int, FeeEstimate] = {}
    for e in estimates:
        if e.target_blocks not in chosen or e.mode == "economical":
            chosen[e.target_blocks] = e
    return [chosen[t] for t in sorted(chosen)]


def by_mode(estimates: tuple[FeeEstimate, ...]) -> dict[int, dict[FeeMode, float | None]]:
    """Rates per target and mode, lowest target first."""
    out: dict[int, dict[FeeMode, float | None]] = {}
    for e in sorted(estimates, key=lambda e: e.target_blocks):
        out.setdefault(e.target_blocks, {})[e.mode] = e.sat_per_vb
    return out


def fee_table(estimates: tuple[FeeEstimate, ...], width: int) -> list[Entry] | None:
    """Header and rows with economical and conservative side by side; None
    when there is one mode only or the two columns do not fit."""
    table = by_mode(estimates)
    if not any("conservative" in modes for modes in table.values()):
        return None
    cells = [
        (
            str(target),
            fmt.eta_blocks(target),
            fmt.fee_rate(modes.get("economical")),
            fmt.fee_rate(modes.get("conservative")),
        )
        for target, modes in table.items()
    ]
    header = ("blk", "eta", "econ", "cons")
    for keep in ((0, 1, 2, 3), (0, 2, 3)):
        widths = [max(len(header[k]), *(len(row[k]) for row in cells)) for k in keep]
        spare = width - sum(widths)
        if spare >= len(keep) - 1:
            break
    else:
        return None
    # Spread the spare cells between the columns, the first gap the narrowest.
    gaps = [spare // (len(keep) - 1)] * (len(keep) - 1)
    for i in range(spare % (len(keep) - 1)):
        gaps[-1 - i] += 1

    def line(values: tuple[str, ...]) -> str:
        text = values[keep[0]].rjust(widths[0])
        for gap, k, w in zip(gaps, keep[1:], widths[1:], strict=True):
            text += " " * gap + values[k].rjust(w)
        return text

    out: list[Entry] = [Text(line(header), style="dim")]
    for target, row in zip(table, cells, strict=True):
        text = line(row)
        out.append(
            Line(Text(text, style="bold") if target == 1 else text, TARGET_RANK.get(target, 3))
        )
    return out


class FeesPanel(Panel):
    TITLE = "fees sat/vB"

    def lines(self, data: NetworkFeesEvent, width: int) -> Sequence[Entry]:
        fees = data.data
        assert fees is not None
        if not fees.estimates:
            return [Text("no estimates yet", style="italic")]
        table = fee_table(fees.estimates, width)
        if table is not None:
            return table
        out: list[Entry] = []
        for e in by_target(fees.estimates):
            rate = fmt.fee_rate(e.sat_per_vb)
            label = f"{e.target_blocks:>3} blk {fmt.eta_blocks(e.target_blocks):>5}"
            if len(label) + 1 + len(rate) > width:
                label = f"{e.target_blocks:>3} blk"
            line = fmt.pair(label, rate, width)
            rank = TARGET_RANK.get(e.target_blocks, 3)
            out.append(Line(Text(line, style="bold") if not out else line, rank))
        return out
