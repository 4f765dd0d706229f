"""The tip: height, hash, how old the block is (ticking), and sync state.

While the node catches up, the sync state takes the room: a progress bar,
the pace in blocks a second and the time left. Once synced, recent forks
(chain tips off the active chain within a day of blocks) and the reorgs seen
since start take a line when there are any; with more room, who mined the
tip and what it carried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainInfoEvent,
    BlockSummary,
    TipHeightEvent,
)
from blocksight_tui.render import format as fmt
from blocksight_tui.render.blocks import pool_name
from blocksight_tui.tui.widgets.panel import Entry, Line, Panel


@dataclass(frozen=True)
class TipSlice:
    tip: TipHeightEvent | None = None
    info: BlockchainInfoEvent | None = None
    reorg_count: int = 0
    """Reorgs seen since start."""


RECENT_FORK_BLOCKS = 144
"""A day of blocks: a long-running node keeps stale tips from years ago."""


def recent_forks(info: BlockchainInfo) -> int:
    """Chain tips off the active chain within the last day of blocks."""
    return sum(
        1
        for t in info.chain_tips
        if t.status != "active" and t.height > info.blocks - RECENT_FORK_BLOCKS
    )


class TipPanel(Panel):
    TITLE = "tip"

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh, name="tip-age")

    def primary(self, data: TipSlice) -> TipHeightEvent | None:
        return data.tip

    def lines(self, data: TipSlice, width: int) -> Sequence[Entry]:
        assert data.tip is not None and data.tip.data is not None
        tip = data.tip.data
        info = data.info.data if data.info is not None else None
        syncing = info is not None and (info.initial_block_download or info.sync is not None)
        out: list[Entry] = [
            Text(fmt.pair("height", fmt.count(tip.height), width), style="bold"),
            Line(fmt.pair("hash", fmt.short_hash(tip.hash), width), rank=2 if syncing else 0),
            Line(
                fmt.pair("age", fmt.ago(self.clock() - tip.time), width), rank=1 if syncing else 0
            ),
        ]
        if info is None:
            return out
        if syncing:
            out += self._sync_lines(info, width)
        else:
            behind = info.headers - info.blocks
            out.append(
                fmt.pair(info.chain, f"{fmt.count(behind)} behind" if behind else "synced", width)
            )
        summary = next((b for b in info.recent_blocks if b.hash == tip.hash), None)
        if summary is not None:
            out += self._block_lines(summary, width)
        n_forks, reorgs = recent_forks(info), data.reorg_count
        if n_forks and reorgs:
            out.append(Line(fmt.pair(_plural(n_forks, "fork"), _plural(reorgs, "reorg"), width), 1))
        elif n_forks or reorgs:
            label, n = ("forks", n_forks) if n_forks else ("reorgs", reorgs)
            out.append(Line(fmt.pair(label, str(n), width), rank=1))
        if info.size_on_disk is not None:
            disk = fmt.size(info.size_on_disk) + (" pruned" if info.pruned else "")
            out.append(Line(fmt.pair("disk", disk, width), rank=3))
        out.extend(Text(fmt.truncate(w, width), style="italic") for w in info.warnings)
        return out

    def _block_lines(self, block: BlockSummary, width: int) -> list[Entry]:
        """Who mined the tip, and what it carried, when the box has room."""
        out: list[Entry] = []
        if block.pool is not None or block.tx_count is not None:
            out.append(Line(fmt.pair("pool", pool_name(block), width), rank=2))
        parts = []
        if block.tx_count is not None:
            parts.append(f"{fmt.count(block.tx_count)} tx")
        if block.total_fee_btc is not None:
            parts.append(f"{block.total_fee_btc:.3f} BTC")
        if parts:
            out.append(Line(fmt.pair("block", " · ".join(parts), width), rank=4))
        return out

    def _sync_lines(self, info: BlockchainInfo, width: int) -> list[Entry]:
        sync = info.sync
        progress = sync.progress if sync is not None else info.verification_progress
        behind = sync.blocks_behind if sync is not None else max(0, info.headers - info.blocks)
        share = fmt.percent(progress, 2, floor=True)
        bar = Text()
        bar.append(fmt.bar(progress, max(0, width - len(share) - 1)), style="bold")
        bar.append(" " + share)
        out: list[Entry] = [
            Text(fmt.pair(info.chain, f"IBD {fmt.count(behind)} left", width), style="bold"),
            bar,
        ]
        if sync is not None and (sync.blocks_per_second is not None or sync.eta_seconds):
            pace = f"{sync.blocks_per_second:.1f} blk/s" if sync.blocks_per_second else ""
            eta = f"ETA {fmt.duration(sync.eta_seconds)}" if sync.eta_seconds else "ETA —"
            out.append(fmt.pair(pace, eta, width))
        return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
