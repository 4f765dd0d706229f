"""The tip: height, hash, how old the block is (ticking), and sync state."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from blocksight_tui.events import BlockchainInfoEvent, TipHeightEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Panel


@dataclass(frozen=True)
class TipSlice:
    tip: TipHeightEvent | None = None
    info: BlockchainInfoEvent | None = None


class TipPanel(Panel):
    TITLE = "tip"

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh, name="tip-age")

    def primary(self, data: TipSlice) -> TipHeightEvent | None:
        return data.tip

    def lines(self, data: TipSlice, width: int) -> list[str | Text]:
        assert data.tip is not None and data.tip.data is not None
        tip = data.tip.data
        out: list[str | Text] = [
            Text(fmt.pair("height", fmt.count(tip.height), width), style="bold"),
            fmt.pair("hash", fmt.short_hash(tip.hash), width),
            fmt.pair("age", fmt.ago(self.clock() - tip.time), width),
        ]
        info = data.info.data if data.info is not None else None
        if info is not None:
            if info.initial_block_download:
                sync = f"IBD {fmt.percent(info.verification_progress, 2, floor=True)}"
            elif info.headers > info.blocks:
                sync = f"{fmt.count(info.headers - info.blocks)} behind"
            else:
                sync = "synced"
            out.append(fmt.pair(info.chain, sync, width))
            if info.size_on_disk is not None:
                disk = fmt.size(info.size_on_disk) + (" pruned" if info.pruned else "")
                out.append(fmt.pair("disk", disk, width))
            out.extend(Text(fmt.truncate(w, width), style="italic") for w in info.warnings)
        return out
