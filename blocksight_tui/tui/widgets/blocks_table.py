"""The recent blocks in a table, newest first, and the chain tips off the
active chain: the `b` screen's body."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text

from blocksight_tui.events import (
    BlockchainInfoEvent,
    ChainReorg,
    ChainTip,
    TipHeight,
    TipHeightEvent,
)
from blocksight_tui.render import format as fmt
from blocksight_tui.render.blocks import block_table, merge_blocks
from blocksight_tui.tui.widgets.panel import Entry, Panel


@dataclass(frozen=True)
class BlocksSlice:
    tips: tuple[TipHeight, ...] = ()
    """Tips seen, oldest first."""
    info: BlockchainInfoEvent | None = None
    tip: TipHeightEvent | None = None
    reorg_count: int = 0
    last_reorg: ChainReorg | None = None


def tip_line(t: ChainTip, width: int) -> str:
    branch = f"{t.branch_length} blk" if t.branch_length else ""
    text = f"{fmt.count(t.height):>9}  {t.status:<13} {branch:>7}  {fmt.short_hash(t.hash)}"
    return fmt.truncate(text, width)


class BlocksTable(Panel):
    TITLE = "recent blocks"
    FIT = False

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(clock=clock, id=id, classes=classes)
        self.border_subtitle = ""

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh, name="block-ages")

    def primary(self, data: BlocksSlice) -> BlockchainInfoEvent | TipHeightEvent | None:
        return data.info if data.info is not None and data.info.data is not None else data.tip

    def lines(self, data: BlocksSlice, width: int) -> Sequence[Entry]:
        info = data.info.data if data.info is not None else None
        summaries = info.recent_blocks if info is not None else ()
        blocks = list(reversed(merge_blocks(data.tips, summaries)))
        header, rows = block_table(blocks, self.clock(), width)
        out: list[Entry] = [Text(header, style="bold")]
        tip_height = blocks[0].height if blocks else None
        for block, row in zip(blocks, rows, strict=True):
            out.append(Text(row, style="bold") if block.height == tip_height else row)
        if not blocks:
            out.append(Text("no blocks seen yet", style="italic"))
        elif info is not None and info.sync is not None and not summaries:
            out.append(Text("no block details while the node catches up", style="italic"))
        forks = [t for t in (info.chain_tips if info is not None else ()) if t.status != "active"]
        if forks or data.reorg_count:
            out.append("")
            n = data.reorg_count
            seen = f" · {n} reorg{'s' if n != 1 else ''} seen" if n else ""
            out.append(Text(fmt.truncate(f"chain tips off the active chain{seen}", width), "bold"))
            out.extend(tip_line(t, width) for t in forks)
            if data.last_reorg is not None:
                r = data.last_reorg
                out.append(
                    fmt.truncate(
                        f"last reorg: depth {r.depth} at {fmt.count(r.fork_height)}, "
                        f"{fmt.short_hash(r.old_tip_hash)} → {fmt.short_hash(r.new_tip_hash)}",
                        width,
                    )
                )
        return out
