"""The Textual app: plugin states in, panels out.

The orchestrator calls back on the app's own loop (events are published there),
so the listener only stores the state and posts a message; the handler sets
each widget's slice (attributes down). The feed runs in a worker: whatever it
raises is shown in the status bar and a notification, never a crash.

The dashboard is the app's first screen and stays up to date while a detail
screen (`b`, `p`, `m`) covers it; the detail screens get the same states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.events import Resize
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState
from blocksight_tui.orchestrator.plugins.electrum import ElectrumState
from blocksight_tui.orchestrator.plugins.external_api import ExternalApiState
from blocksight_tui.orchestrator.plugins.system import SystemState
from blocksight_tui.tui.messages import StatesChanged
from blocksight_tui.tui.screens.blocks import BlocksScreen
from blocksight_tui.tui.screens.detail import DetailScreen
from blocksight_tui.tui.screens.mempool import MempoolScreen
from blocksight_tui.tui.screens.peers import PeersScreen
from blocksight_tui.tui.widgets.chain_view import ChainSlice, ChainView
from blocksight_tui.tui.widgets.fees import FeesPanel
from blocksight_tui.tui.widgets.mempool import MempoolPanel
from blocksight_tui.tui.widgets.mining import MiningPanel
from blocksight_tui.tui.widgets.network import NetworkPanel
from blocksight_tui.tui.widgets.price import PricePanel, PriceSlice
from blocksight_tui.tui.widgets.status import StatusBar
from blocksight_tui.tui.widgets.tip import TipPanel, TipSlice

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""Signals that end the app as `q` does. Without them SIGTERM (a service
manager, `kill`) or SIGHUP (the SSH link or the tmux pane closing) would end
the process on the spot: the hub's clients would see the link cut (1006)
instead of a 1001 close, and a node adapter would be stopped mid-call."""
NARROW_BELOW = 80
"""Panes narrower than 80 columns get the compact layout (no padding)."""
DETAIL_SCREENS: dict[str, type[DetailScreen]] = {
    s.NAME: s for s in (BlocksScreen, PeersScreen, MempoolScreen)
}


class Feed(Protocol):
    """Whatever publishes events into the orchestrator: the demo, a node, a hub."""

    async def start(self) -> Sequence[str] | None:
        """Start publishing; may return notices for the user (a part that
        could not start while the rest runs)."""

    async def stop(self) -> None: ...


def shows_demo(state: SystemState) -> bool:
    """The simulated network, run here or by the hub attached to: made-up
    figures must never pass for a node's."""
    if state.mode == "attach":
        return any(info.name == "demo" for _, info in state.sources)
    return state.mode == "demo"


def subtitle(state: SystemState) -> str:
    if state.mode == "demo":
        return "DEMO · simulated network"
    if state.mode == "attach":
        where = f"ATTACHED {state.label or state.hub_url or 'hub'}"
        return f"{where} · DEMO" if shows_demo(state) else where
    return state.label or "node"


class BlockSightApp(App[None]):
    CSS_PATH = "blocksight.tcss"
    TITLE = "BlockSight"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("b", "show('blocks')", "Blocks"),
        Binding("p", "show('peers')", "Peers"),
        Binding("m", "show('mempool')", "Mempool"),
    ]

    def __init__(
        self,
        orchestrator: MainOrchestrator,
        feed: Feed | None = None,
        *,
        clock: Callable[[], float] = time.time,
        handle_signals: bool = False,
    ) -> None:
        """``clock`` drives the ticking ages; tests pin it for stable screens.
        ``handle_signals``: the app is the process, and STOP_SIGNALS end it
        in order (off in tests, whose loop is not the process's)."""
        super().__init__()
        self.orchestrator = orchestrator
        self.feed = feed
        self.clock = clock
        self._handle_signals = handle_signals
        self._signals: list[signal.Signals] = []
        self._pending: dict[str, Any] = {}
        self._latest: dict[str, Any] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="₿")
        yield ChainView(id="chain")
        with Grid(id="panels"):
            yield TipPanel(id="tip", classes="panel", clock=self.clock)
            yield MempoolPanel(id="mempool", classes="panel", clock=self.clock)
            yield FeesPanel(id="fees", classes="panel", clock=self.clock)
            yield NetworkPanel(id="network", classes="panel", clock=self.clock)
            yield MiningPanel(id="mining", classes="panel", clock=self.clock)
            yield PricePanel(id="price", classes="panel", clock=self.clock)
        yield StatusBar(id="status", clock=self.clock)
        yield Footer()

    def on_mount(self) -> None:
        self._unsubscribe = self.orchestrator.subscribe(self._on_plugin_state)
        if self._handle_signals:
            self._catch_stop_signals()
        if self.feed is not None:
            self._run_feed()

    def _catch_stop_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            # Not on every platform, nor off the main thread: then the default stays.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._stop_on_signal, sig)
                self._signals.append(sig)

    def _stop_on_signal(self, sig: signal.Signals) -> None:
        log.info("%s: stopping", sig.name)
        self.exit()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    # ------------------------------------------------------------ screens

    def action_show(self, name: str) -> None:
        """Open a detail screen over the dashboard, or in place of another one."""
        current = self.screen
        if isinstance(current, DetailScreen) and name == current.NAME:
            return
        screen = DETAIL_SCREENS[name](self._latest, clock=self.clock)
        if isinstance(current, DetailScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        self._signals.clear()
        if self.feed is not None:
            try:
                await asyncio.wait_for(self.feed.stop(), STOP_TIMEOUT_S)
            except Exception:
                log.exception("the feed did not stop cleanly")

    # ------------------------------------------------------------ the feed

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def _run_feed(self) -> Sequence[str] | None:
        assert self.feed is not None
        return await self.feed.start()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "feed":
            return
        if event.state == WorkerState.SUCCESS:
            for notice in event.worker.result or ():
                self.notify(notice, severity="warning", timeout=15)
            return
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        reason = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        log.error("the feed failed: %s", reason, exc_info=error)
        self.screen_stack[0].query_one(StatusBar).feed_error = reason
        self.notify(reason, title="feed failed", severity="error", timeout=10)

    # ------------------------------------------------------- states → widgets

    def _on_plugin_state(self, name: str, state: Any) -> None:
        self._pending[name] = state
        self.post_message(StatesChanged())

    def on_states_changed(self, message: StatesChanged) -> None:
        if not self.screen_stack:
            return  # closing: the screens are gone
        pending, self._pending = self._pending, {}
        self._latest.update(pending)
        for name, state in pending.items():
            try:
                self._apply(name, state)
            except Exception:
                log.exception("could not show the %s state", name)
            for screen in self.screen_stack:
                if isinstance(screen, DetailScreen):
                    try:
                        screen.update(name, state)
                    except Exception:
                        log.exception("could not show the %s state on %s", name, screen.NAME)

    def _apply(self, name: str, state: Any) -> None:
        home = self.screen_stack[0]
        if isinstance(state, BlockchainState):
            info = state.info.data if state.info is not None else None
            home.query_one(ChainView).data = ChainSlice(
                state.recent_blocks,
                state.last_reorg,
                state.tip,
                info.recent_blocks if info is not None else (),
            )
            home.query_one(TipPanel).data = TipSlice(state.tip, state.info, state.reorg_count)
            home.query_one(MempoolPanel).data = state.mempool
            home.query_one(FeesPanel).data = state.fees
            home.query_one(NetworkPanel).data = state.network
            home.query_one(MiningPanel).data = state.mining
        elif isinstance(state, ExternalApiState):
            home.query_one(PricePanel).data = PriceSlice(state.price, state.fx)
        elif isinstance(state, ElectrumState):
            home.query_one(StatusBar).electrum = state
        elif isinstance(state, SystemState):
            self.sub_title = subtitle(state)
            self.set_class(shows_demo(state), "-demo")
            home.query_one(StatusBar).data = state


def run_app(orchestrator: MainOrchestrator, feed: Feed | None) -> None:
    """Run the monitor until the user quits."""
    BlockSightApp(orchestrator, feed, handle_signals=True).run()
