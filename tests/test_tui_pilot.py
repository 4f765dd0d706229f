"""The app end to end through Pilot: a fake feed publishes real events on a
real bus, the orchestrator folds them, and the panels show the figures."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from textual.message import Message
from textual.widget import Widget

from blocksight_tui.events import Event, SourceInfo
from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.orchestrator.plugins.base import ContextPlugin
from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState
from blocksight_tui.orchestrator.plugins.system import SystemPlugin
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import load_settings
from blocksight_tui.tui.app import BlockSightApp
from blocksight_tui.tui.messages import StatesChanged
from blocksight_tui.tui.widgets.chain_view import ChainSlice, ChainView
from blocksight_tui.tui.widgets.fees import FeesPanel
from blocksight_tui.tui.widgets.mempool import MempoolPanel
from blocksight_tui.tui.widgets.mining import MiningPanel
from blocksight_tui.tui.widgets.network import NetworkPanel
from blocksight_tui.tui.widgets.panel import Line, fit
from blocksight_tui.tui.widgets.price import PricePanel
from blocksight_tui.tui.widgets.status import StatusBar
from blocksight_tui.tui.widgets.tip import TipPanel
from tests.tui_support import (
    CORE,
    NOW,
    PRICES,
    TIP,
    FakeFeed,
    all_events,
    plain,
    screen_text,
    syncing_events,
    tips,
    visible,
    widget_text,
    wired,
)

SIZES = [(80, 24), (120, 40)]
PANELS: list[type[Widget]] = [
    TipPanel,
    MempoolPanel,
    FeesPanel,
    NetworkPanel,
    MiningPanel,
    PricePanel,
    ChainView,
    StatusBar,
]
FIGURES: dict[type[Widget], list[str]] = {
    TipPanel: [f"{TIP:,}", "synced", "0000…", "3 m 12 s ago", "1 fork", "1 reorg"],
    MempoolPanel: ["45,123 tx", "25.3 MvB", "41%", "1.0 sat/vB", "█▅", "150"],
    FeesPanel: ["econ", "cons", "12.4", "15.2", "8.1", "10.0", "144", "~1d"],
    NetworkPanel: ["8 in · 10 out", "v2 7/18", "ping 48 ms", "↓ 1.23 MB/s", "↑ 340 kB/s"],
    MiningPanel: ["908.7 EH/s", "127.0 T", "1,234", "+2.3%", "9 m 42 s", "148,766"],
    PricePanel: ["$104,322", "3 sources", "€95,976"],
    ChainView: [f"{TIP:,}", "Foundry", "AntPool", "10.5", "reorg depth 1", "median sat/vB"],
    StatusBar: ["DEMO", "events", "core ok", "prices ok"],
}
ROOMY: dict[type[Widget], list[str]] = {
    TipPanel: ["Foundry USA", "3,555 tx", "712 GB"],
    MempoolPanel: ["123 MB / 300 MB", "0.51234567 BTC", "sat/vB"],
    FeesPanel: ["~20m", "3.9", "24"],
    NetworkPanel: ["/Satoshi:29.0.0/", "onion", "relay"],
    MiningPanel: ["~8d", "3.125 BTC"],
    ChainView: ["+10m", "3,555 tx", "0.026 BTC"],
}
"""Figures that show only with the room of 120x40; at 80x24 they give way."""
LEGACY: dict[type[Widget], list[str]] = {
    TipPanel: [f"{TIP:,}", "synced", "0000…", "3 m 12 s ago"],
    MempoolPanel: ["45,123", "25.3 MvB", "41%", "1.0 sat/vB"],
    FeesPanel: ["12.4", "8.1", "144 blk"],
    NetworkPanel: ["8 in · 10 out", "/Satoshi:29.0.0/", "onion"],
    MiningPanel: ["908.7 EH/s", "127.0 T", "1,234", "3.125 BTC"],
    PricePanel: ["$104,322", "3 sources", "€95,976"],
    ChainView: [f"{TIP:,}", "⣿", "reorg depth 1"],
    StatusBar: ["DEMO", "events", "core ok", "prices ok"],
}
"""What a source without the newer fields (block summaries, histogram, peers…) shows."""


def make_app(events: Any = (), mode: str = "demo") -> tuple[BlockSightApp, FakeFeed]:
    orch, _bus, feed = wired(events, mode=mode, label="127.0.0.1:8332")
    return BlockSightApp(orch, feed, clock=lambda: float(NOW)), feed


@pytest.mark.parametrize("size", SIZES)
async def test_every_panel_shows_its_figures(size: tuple[int, int]) -> None:
    app, feed = make_app(all_events())
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert feed.started == 1
        for kind in PANELS:
            widget = app.query_one(kind)
            assert visible(app, widget), f"{kind.__name__} is not on screen at {size}"
            text = widget_text(widget)
            expected = FIGURES[kind] + (ROOMY.get(kind, []) if size == (120, 40) else [])
            for figure in expected:
                assert figure in text, f"{figure!r} not in {kind.__name__}:\n{text}"
        assert "DEMO" in screen_text(app).splitlines()[0]
        footer = screen_text(app).splitlines()[-1]
        assert all(key in footer for key in ("Quit", "b Blocks", "p Peers", "m Mempool"))


@pytest.mark.parametrize("size", SIZES)
async def test_a_source_without_the_newer_fields_shows_what_it_has(
    size: tuple[int, int],
) -> None:
    app, _feed = make_app(plain(all_events()))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for kind in PANELS:
            text = widget_text(app.query_one(kind))
            for figure in LEGACY[kind]:
                assert figure in text, f"{figure!r} not in {kind.__name__}:\n{text}"
        assert "cons" not in widget_text(app.query_one(FeesPanel))
        assert "median sat/vB" not in widget_text(app.query_one(ChainView))


async def test_at_80x24_the_lowest_ranked_lines_give_way() -> None:
    app, _feed = make_app(all_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for kind, figures in ROOMY.items():
            text = widget_text(app.query_one(kind))
            assert any(f not in text for f in figures), kind.__name__
        # What gives way is the least telling, not simply the last line.
        mining = widget_text(app.query_one(MiningPanel))
        assert "9 m 42 s" in mining and "148,766" in mining and "3.125 BTC" not in mining


@pytest.mark.parametrize("size", SIZES)
async def test_initial_download_shows_progress_pace_and_eta(size: tuple[int, int]) -> None:
    app, _feed = make_app(syncing_events())
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = widget_text(app.query_one(TipPanel))
        behind = f"{TIP - 512_345:,}"
        for figure in ("512,345", f"IBD {behind} left", "45.67%", "█", "52.3 blk/s", "ETA 2 h"):
            assert figure in text, f"{figure!r} not in\n{text}"
        assert "synced" not in text


@pytest.mark.parametrize("size", SIZES)
async def test_without_events_every_panel_is_waiting(size: tuple[int, int]) -> None:
    app, _feed = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for kind in PANELS:
            if kind is StatusBar:
                continue
            widget = app.query_one(kind)
            assert visible(app, widget)
            assert "waiting…" in widget_text(widget), kind.__name__
        assert "0 events" in widget_text(app.query_one(StatusBar))


async def test_unavailable_fees_show_the_reason() -> None:
    unavailable = SourceInfo(name="core", state="unavailable", reason="node busy")
    app, _feed = make_app([*all_events(), ("network.fees", None, unavailable)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fees = app.query_one(FeesPanel)
        assert "unavailable: node busy" in widget_text(fees)
        assert fees.has_class("-unavailable")
        assert "fees unavailable" in widget_text(app.query_one(StatusBar))
        # The other panels are unaffected.
        assert "45,123" in widget_text(app.query_one(MempoolPanel))


async def test_a_long_unavailable_reason_wraps_instead_of_vanishing() -> None:
    reason = "estimatesmartfee: insufficient data"
    unavailable = SourceInfo(name="core", state="unavailable", reason=reason)
    app, _feed = make_app([("network.fees", None, unavailable)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        flat = " ".join(widget_text(app.query_one(FeesPanel)).replace("│", " ").split())
        assert f"unavailable: {reason}" in flat


async def test_stale_data_is_shown_and_marked() -> None:
    events = all_events()
    price = next(payload for kind, payload, _ in events if kind == "price.current")
    stale = SourceInfo(name="prices", state="stale", reason="timeout")
    app, _feed = make_app([*events, ("price.current", price, stale)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(PricePanel)
        assert panel.has_class("-stale")
        text = widget_text(panel)
        assert "$104,322" in text and "stale" in text
        assert "prices: price stale" in widget_text(app.query_one(StatusBar))


@pytest.mark.parametrize(
    ("mode", "expected", "absent"),
    [("demo", "DEMO · simulated network", None), ("node", "127.0.0.1:8332", "DEMO")],
)
async def test_header_says_where_the_data_comes_from(
    mode: str, expected: str, absent: str | None
) -> None:
    app, _feed = make_app(mode=mode)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert "BlockSight" in header and expected in header
        assert app.sub_title == expected
        if absent:
            assert absent not in header


class BrokenBlockchain(ContextPlugin):
    """A plugin whose state no panel can render: the mempool slot holds junk."""

    name: ClassVar[str] = "blockchain"

    def accepts(self, event: Event) -> bool:
        return False

    def handle(self, event: Event) -> bool:
        return False

    @property
    def state(self) -> BlockchainState:
        junk = SimpleNamespace(source=CORE, data=SimpleNamespace(vsize=1))
        return BlockchainState(mempool=junk, recent_blocks=tuple(tips(3)))  # type: ignore[arg-type]


async def test_a_widget_that_raises_does_not_take_the_app_down() -> None:
    orch = MainOrchestrator([BrokenBlockchain(), SystemPlugin(mode="demo")])
    app = BlockSightApp(orch)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        mempool = app.query_one(MempoolPanel)
        text = widget_text(mempool)
        assert "error: AttributeError" in text
        assert mempool.has_class("-error")
        # Everything else still renders, and the app still takes input.
        assert f"{TIP:,}" in widget_text(app.query_one(ChainView))
        assert "waiting…" in widget_text(app.query_one(FeesPanel))
        await pilot.press("tab")
        assert app.is_running


async def test_a_broken_chain_slice_shows_an_error_in_the_chain_view() -> None:
    app, _feed = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chain = app.query_one(ChainView)
        chain.data = ChainSlice(blocks=(SimpleNamespace(height="x"),))  # type: ignore[arg-type]
        await pilot.pause()
        assert "error:" in widget_text(chain)
        assert app.is_running


async def test_a_feed_that_fails_to_start_is_reported_not_fatal() -> None:
    app, feed = make_app()
    feed.fail_with = ConnectionRefusedError("connection refused: 127.0.0.1:8332")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.is_running
        status = widget_text(app.query_one(StatusBar))
        assert "feed error" in status
        assert "ConnectionRefusedError" in (app.query_one(StatusBar).feed_error or "")
        assert "feed failed" in screen_text(app)
        assert "waiting…" in widget_text(app.query_one(TipPanel))
    assert feed.stopped == 1


async def test_quitting_stops_the_feed() -> None:
    app, feed = make_app(all_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("q")
    assert feed.started == 1 and feed.stopped == 1


async def test_state_bursts_coalesce_into_few_updates() -> None:
    dispatched: list[Message] = []
    orch, _bus, feed = wired(all_events())
    notifications: list[str] = []
    orch.subscribe(lambda name, _state: notifications.append(name))
    app = BlockSightApp(orch, feed)
    async with app.run_test(size=(80, 24), message_hook=dispatched.append) as pilot:
        await pilot.pause()
        assert f"{TIP:,}" in widget_text(app.query_one(TipPanel))
    handled = sum(isinstance(m, StatesChanged) for m in dispatched)
    # One post per plugin notification, but the burst arrives at once: the
    # queued copies collapse and the panels are set a handful of times.
    assert len(notifications) > 30
    assert 0 < handled <= 4
    assert StatesChanged().can_replace(StatesChanged())
    assert not StatesChanged().can_replace(Message())


async def test_chain_view_caches_strips_and_redraws_only_changed_rows() -> None:
    app, _feed = make_app(all_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chain = app.query_one(ChainView)
        data = chain.data
        assert data is not None and data.last_reorg is not None
        labels_row = chain.size.height - 1
        art, labels = chain.render_line(0), chain.render_line(labels_row)
        assert chain.render_line(0) is art
        assert f"{TIP:,}" in labels.text
        chain.data = ChainSlice(data.blocks, data.last_reorg, data.tip, data.summaries)
        await pilot.pause()
        assert chain.render_line(0) is art  # an equal slice recomputes nothing
        # The reorg marker goes.
        chain.data = ChainSlice(data.blocks, None, data.tip, data.summaries)
        await pilot.pause()
        assert chain.render_line(0) is not art
        assert chain.render_line(labels_row) is labels  # the heights did not change
        assert "reorg" not in widget_text(chain)


async def test_a_stale_tip_marks_the_tip_panel_and_the_chain() -> None:
    events = all_events()
    stale = SourceInfo(name="core", state="stale", reason="rpc timeout")
    app, _feed = make_app([*events, ("tip.height", events[-1][1], stale)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for widget in (app.query_one(TipPanel), app.query_one(ChainView)):
            assert widget.has_class("-stale")
            text = widget_text(widget)
            assert "stale" in text and f"{TIP:,}" in text


async def test_a_new_block_reaches_the_chain_and_the_tip() -> None:
    orch, bus, feed = wired(all_events())
    app = BlockSightApp(orch, feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        new = tips(1, top=TIP + 1)[0]
        bus.publish("tip.height", new, CORE)
        await pilot.pause()
        assert f"{TIP + 1:,}" in widget_text(app.query_one(TipPanel))
        assert f"{TIP + 1:,}" in widget_text(app.query_one(ChainView))
        bus.publish(
            "price.current",
            None,
            SourceInfo(name="prices", state="unavailable", reason="all providers down"),
        )
        await pilot.pause()
        assert "unavailable:" in widget_text(app.query_one(PricePanel))
        assert PRICES.name in widget_text(app.query_one(StatusBar))


@pytest.mark.parametrize("size", SIZES)
async def test_the_embedded_demo_fills_every_panel(size: tuple[int, int]) -> None:
    """The real simulated network as the feed, as `blocksight --demo` runs it."""
    settings = load_settings({"hub": {"enabled": False}, "demo": {"seed": 11}}, environ={})
    runtime = Runtime(settings, "demo")
    orchestrator = MainOrchestrator.standard(mode="demo", label=runtime.label)
    runtime.bus.subscribe(orchestrator.handle)
    app = BlockSightApp(orchestrator, runtime)
    async with app.run_test(size=size) as pilot:
        for _ in range(40):
            await pilot.pause(0.05)
            if all("waiting…" not in widget_text(app.query_one(k)) for k in PANELS):
                break
        for kind in PANELS:
            widget = app.query_one(kind)
            assert visible(app, widget), f"{kind.__name__} is not on screen at {size}"
            assert "waiting…" not in widget_text(widget), kind.__name__
            assert "unavailable" not in widget_text(widget), kind.__name__
        assert "DEMO" in screen_text(app).splitlines()[0]
        assert "975,000" in widget_text(app.query_one(ChainView))
    assert not runtime.scheduler.running


async def test_a_hub_port_in_use_is_a_notice_not_a_failure() -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        settings = load_settings({"hub": {"port": port}, "demo": {"seed": 2}}, environ={})
        runtime = Runtime(settings, "demo", hub_required=False)
        orchestrator = MainOrchestrator.standard(mode="demo", label=runtime.label)
        runtime.bus.subscribe(orchestrator.handle)
        app = BlockSightApp(orchestrator, runtime)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.pause(0.3)
            notices = [n.message for n in app._notifications]
            assert any("hub not started" in m for m in notices), notices
            assert runtime.hub is None and runtime.scheduler.running
            assert "waiting…" not in widget_text(app.query_one(TipPanel))
    finally:
        blocker.close()


@pytest.mark.parametrize(
    ("height", "kept"),
    [
        (0, ["a", "b", "c", "d", "e"]),  # not laid out yet: everything
        (9, ["a", "b", "c", "d", "e"]),
        (4, ["a", "b", "d", "e"]),
        (3, ["a", "b", "e"]),  # among equals, the first stay
        (2, ["a", "e"]),
    ],
)
def test_a_short_panel_leaves_out_the_highest_ranks_keeping_the_order(
    height: int, kept: list[str]
) -> None:
    entries = ["a", Line("b", rank=1), Line("c", rank=3), Line("d", rank=1), "e"]
    assert fit(entries, height) == kept


async def test_a_lagging_electrum_server_is_flagged() -> None:
    from blocksight_tui.events import TipHeight, make_event

    electrum = SourceInfo(name="electrum", detail="tcp://127.0.0.1:50001 · ElectrumX 1.20.2")
    app, _feed = make_app(all_events())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        node_height = app.orchestrator.state_of("blockchain").tip.data.height
        behind = TipHeight(height=node_height - 3, hash="f" * 64, time=1)
        app.orchestrator.handle(make_event("tip.height", behind, electrum, seq=10_000))
        await pilot.pause()
        text = widget_text(app.query_one(StatusBar))
        assert "electrum 3 blocks behind the node" in text
        assert "electrum ok" in text and "core ok" in text
        # Two behind is within the tolerance of a server that is catching up.
        close = TipHeight(height=node_height - 2, hash="e" * 64, time=1)
        app.orchestrator.handle(make_event("tip.height", close, electrum, seq=10_001))
        await pilot.pause()
        assert "behind" not in widget_text(app.query_one(StatusBar))


async def test_an_electrum_only_mempool_renders_without_counts() -> None:
    from blocksight_tui.events import FeeBand, NetworkMempool, make_event
    from blocksight_tui.tui.widgets.mempool import MempoolPanel

    electrum = SourceInfo(name="electrum")
    mempool = NetworkMempool(
        tx_count=None, vsize=750_000, usage=None, min_fee_sat_per_vb=1.0,
        fee_histogram=(
            FeeBand(min_sat_per_vb=1, max_sat_per_vb=4, vsize=400_000),
            FeeBand(min_sat_per_vb=4, max_sat_per_vb=12, vsize=250_000),
            FeeBand(min_sat_per_vb=12, vsize=100_000),
        ),
    )
    for size in SIZES:
        app, _feed = make_app()
        async with app.run_test(size=size) as pilot:
            app.orchestrator.handle(make_event("network.mempool", mempool, electrum, seq=1))
            await pilot.pause()
            text = widget_text(app.query_one(MempoolPanel))
            assert "— tx" in text and "750" in text, text
            assert "error" not in text
            await pilot.press("m")
            await pilot.pause()
            assert "error" not in screen_text(app)
