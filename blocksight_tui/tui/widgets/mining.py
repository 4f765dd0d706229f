"""Mining: hashrate, difficulty, the next retarget (when, and by how much
the recent block times say it will move), the mean block interval, halving
and subsidy."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import BlockchainMining, BlockchainMiningEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Entry, Line, Panel

TARGET_SPACING_S = 600


def retarget_text(m: BlockchainMining, room: int) -> str:
    """'1,234 ~9d +2.3%', less the time, then less the change, to fit ``room``."""
    spacing = round(m.mean_block_interval_s or TARGET_SPACING_S)
    blocks = fmt.count(m.blocks_until_retarget)
    eta = fmt.eta_blocks(m.blocks_until_retarget, max(1, spacing))
    change = m.expected_difficulty_change_pct
    options = [f"{blocks} {eta}"]
    if change is not None:
        pct = fmt.signed_percent(change)
        options = [f"{blocks} {eta} {pct}", f"{blocks} {pct}", *options]
    options.append(blocks)
    return next((o for o in options if len(o) <= room), blocks)


class MiningPanel(Panel):
    TITLE = "mining"

    def lines(self, data: BlockchainMiningEvent, width: int) -> Sequence[Entry]:
        m = data.data
        assert m is not None
        hashrate = fmt.hashrate(m.network_hashps) if m.network_hashps is not None else fmt.NO_VALUE
        out: list[Entry] = [
            Text(fmt.pair("hashrate", hashrate, width), style="bold"),
            fmt.pair("difficulty", fmt.difficulty(m.difficulty), width),
            fmt.pair("retarget", retarget_text(m, width - 9), width),
        ]
        if m.mean_block_interval_s is not None:
            interval = fmt.duration(m.mean_block_interval_s)
            out.append(Line(fmt.pair("interval", interval, width), rank=1))
        out.append(
            Line(fmt.pair("halving", _blocks_eta(m.blocks_until_halving, width - 8), width), 1)
        )
        out.append(Line(fmt.pair("subsidy", fmt.btc(m.subsidy_btc), width), rank=2))
        return out


def _blocks_eta(blocks: int, room: int) -> str:
    """'1,234 ~9d', or without the estimate when it does not fit."""
    full = f"{fmt.count(blocks)} {fmt.eta_blocks(blocks)}"
    return full if len(full) <= room else fmt.count(blocks)
