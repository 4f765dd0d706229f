"""Mining: difficulty, hashrate, and how far the next retarget and halving are."""

from __future__ import annotations

from rich.text import Text

from blocksight_tui.events import BlockchainMiningEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Panel


class MiningPanel(Panel):
    TITLE = "mining"

    def lines(self, data: BlockchainMiningEvent, width: int) -> list[str | Text]:
        m = data.data
        assert m is not None
        hashrate = fmt.hashrate(m.network_hashps) if m.network_hashps is not None else fmt.NO_VALUE
        return [
            Text(fmt.pair("hashrate", hashrate, width), style="bold"),
            fmt.pair("difficulty", fmt.difficulty(m.difficulty), width),
            fmt.pair("retarget", _blocks_eta(m.blocks_until_retarget, width - 9), width),
            fmt.pair("halving", _blocks_eta(m.blocks_until_halving, width - 8), width),
            fmt.pair("subsidy", fmt.btc(m.subsidy_btc), width),
        ]


def _blocks_eta(blocks: int, room: int) -> str:
    """'1,234 ~9d', or without the estimate when it does not fit."""
    full = f"{fmt.count(blocks)} {fmt.eta_blocks(blocks)}"
    return full if len(full) <= room else fmt.count(blocks)
