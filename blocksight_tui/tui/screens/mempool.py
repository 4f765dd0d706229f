"""`m`: the mempool's fee histogram at full size, over its bands in a table."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState
from blocksight_tui.tui.screens.detail import DetailScreen
from blocksight_tui.tui.widgets.fee_bands import FeeBandsPanel
from blocksight_tui.tui.widgets.fee_histogram import FeeHistogramPanel, HistogramSlice


class MempoolScreen(DetailScreen):
    NAME = "mempool"
    TITLE = "BlockSight · mempool"

    def body(self) -> ComposeResult:
        yield FeeHistogramPanel(id="fee-histogram", classes="panel", clock=self.clock)
        with VerticalScroll(classes="detail-body", id="bands-scroll"):
            yield FeeBandsPanel(id="fee-bands", classes="panel detail", clock=self.clock)

    def show_blockchain(self, state: BlockchainState) -> None:
        self.query_one(FeeHistogramPanel).data = HistogramSlice(state.mempool, state.fees)
        self.query_one(FeeBandsPanel).data = state.mempool
