"""`p`: the peers in detail, beside what they run and what this node is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll

from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState
from blocksight_tui.tui.screens.detail import DetailScreen
from blocksight_tui.tui.widgets.connections import ConnectionsPanel
from blocksight_tui.tui.widgets.user_agents import UserAgentsPanel


class PeersScreen(DetailScreen):
    NAME = "peers"
    TITLE = "BlockSight · peers"

    def body(self) -> ComposeResult:
        with Horizontal(classes="detail-columns"):
            with VerticalScroll(classes="detail-body"):
                yield ConnectionsPanel(id="connections", classes="panel detail", clock=self.clock)
            with VerticalScroll(classes="detail-body"):
                yield UserAgentsPanel(id="user-agents", classes="panel detail", clock=self.clock)

    def show_blockchain(self, state: BlockchainState) -> None:
        self.query_one(ConnectionsPanel).data = state.network
        self.query_one(UserAgentsPanel).data = state.network
