"""`b`: the recent blocks in a table, and the chain tips off the active chain."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState
from blocksight_tui.tui.screens.detail import DetailScreen
from blocksight_tui.tui.widgets.blocks_table import BlocksSlice, BlocksTable


class BlocksScreen(DetailScreen):
    NAME = "blocks"
    TITLE = "BlockSight · blocks"

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="detail-body"):
            yield BlocksTable(id="blocks-table", classes="panel detail", clock=self.clock)

    def show_blockchain(self, state: BlockchainState) -> None:
        self.query_one(BlocksTable).data = BlocksSlice(
            state.recent_blocks, state.info, state.tip, state.reorg_count, state.last_reorg
        )
