"""The detail screens (`b` blocks, `p` peers, `m` mempool) through Pilot:
reachable by key, live while open, back with escape, readable at 80x24 and
120x40, and honest about missing or failing data."""

from __future__ import annotations

from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Header

from blocksight_tui.events import SourceInfo
from blocksight_tui.tui.app import BlockSightApp
from blocksight_tui.tui.screens.blocks import BlocksScreen
from blocksight_tui.tui.screens.detail import DetailScreen
from blocksight_tui.tui.screens.mempool import MempoolScreen
from blocksight_tui.tui.screens.peers import PeersScreen
from blocksight_tui.tui.widgets.blocks_table import BlocksTable
from blocksight_tui.tui.widgets.connections import ConnectionsPanel
from blocksight_tui.tui.widgets.fee_bands import FeeBandsPanel
from blocksight_tui.tui.widgets.fee_histogram import FeeHistogramPanel
from blocksight_tui.tui.widgets.panel import Panel
from blocksight_tui.tui.widgets.tip import TipPanel
from blocksight_tui.tui.widgets.user_agents import UserAgentsPanel
from tests.tui_support import (
    CORE,
    NOW,
    TIP,
    all_events,
    plain,
    screen_text,
    summaries,
    tips,
    visible,
    widget_text,
    wired,
)

SIZES = [(80, 24), (120, 40)]
SCREENS: dict[str, tuple[type[DetailScreen], dict[type[Panel], list[str]]]] = {
    "b": (
        BlocksScreen,
        {
            BlocksTable: [
                "height", "p10–p90", "pool",
                f"{TIP:,}", "3,555", "10.5", "8.0–36.0", "0.0260", "Foundry USA",
                f"{TIP - 5:,}", "? /bitcoin so",
                "valid-fork", "1 reorg seen", "last reorg: depth 1",
            ],
        },
    ),
    "p": (
        PeersScreen,
        {
            ConnectionsPanel: [
                "8 in · 10 out", "outbound-full-relay", "block-relay-only", "inbound",
                "7 of 18", "median 48 ms", "min 7.2 ms", "1.23 MB/s", "340 kB/s", "12.3 GB",
            ],
            UserAgentsPanel: [
                "/Satoshi:29.0.0/", "/btcd:0.24.2/", "others", "2", "70016", "onion",
            ],
        },
    ),
    "m": (
        MempoolScreen,
        {
            FeeHistogramPanel: ["45,123 tx", "25.3 MvB", "█", "150 sat/vB", "▲1", "▲6", "▲144"],
            FeeBandsPanel: ["sat/vB", "blocks", "125–150", "5.00 kvB"],
        },
    ),
}  # fmt: skip


def on_screen(app: BlockSightApp, panel: Panel) -> bool:
    """The panel, or the scrolling box it sits in when it is taller than the
    screen, is wholly on screen, and the panel starts inside it."""
    box = panel.parent if isinstance(panel.parent, VerticalScroll) else panel
    assert isinstance(box, Widget)
    return visible(app, box) and box.region.contains(panel.region.x, panel.region.y)


def make_app(events: Any = ()) -> BlockSightApp:
    orch, _bus, feed = wired(events, mode="demo", label="127.0.0.1:8332")
    return BlockSightApp(orch, feed, clock=lambda: float(NOW))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", list(SCREENS))
async def test_each_screen_shows_its_figures(key: str, size: tuple[int, int]) -> None:
    screen_type, panels = SCREENS[key]
    app = make_app(all_events())
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, screen_type)
        lines = screen_text(app).splitlines()
        assert "DEMO" in lines[0] and "esc Back" in lines[-1]
        for kind, figures in panels.items():
            panel = app.screen.query_one(kind)
            assert on_screen(app, panel), f"{kind.__name__} is not on screen at {size}"
            text = widget_text(panel)
            for figure in figures:
                assert figure in text, f"{figure!r} not in {kind.__name__}:\n{text}"
            assert all(len(line) <= size[0] for line in text.splitlines())


@pytest.mark.parametrize("key", list(SCREENS))
async def test_escape_goes_back_to_the_dashboard(key: str) -> None:
    app = make_app(all_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        assert f"{TIP:,}" in widget_text(app.query_one(TipPanel))


async def test_one_screen_key_from_another_replaces_it() -> None:
    app = make_app(all_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MempoolScreen) and len(app.screen_stack) == 2
        await pilot.press("m")  # the same key again does nothing
        await pilot.pause()
        assert len(app.screen_stack) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1


@pytest.mark.parametrize("key", list(SCREENS))
async def test_without_data_the_screens_are_waiting(key: str) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        for kind in SCREENS[key][1]:
            assert "waiting…" in widget_text(app.screen.query_one(kind)), kind.__name__


async def test_an_open_screen_follows_new_blocks_and_the_dashboard_too() -> None:
    orch, bus, feed = wired(all_events())
    app = BlockSightApp(orch, feed, clock=lambda: float(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        table = app.screen.query_one(BlocksTable)
        new = tips(1, top=TIP + 1)[0]
        bus.publish("tip.height", new, CORE)
        await pilot.pause()
        # The tip is listed at once, its details follow with the summary.
        row = next(line for line in widget_text(table).splitlines() if f"{TIP + 1:,}" in line)
        assert "—" in row
        info = next(p for kind, p, _ in all_events() if kind == "blockchain.info")
        chain = [*tips(6, top=TIP)[1:], new]
        bus.publish(
            "blockchain.info", info.model_copy(update={"recent_blocks": summaries(chain)}), CORE
        )
        await pilot.pause()
        row = next(line for line in widget_text(table).splitlines() if f"{TIP + 1:,}" in line)
        assert "Foundry USA" in row and "—" not in row
        await pilot.press("escape")
        await pilot.pause()
        assert f"{TIP + 1:,}" in widget_text(app.query_one(TipPanel))


async def test_a_source_without_peer_details_says_so() -> None:
    app = make_app(plain(all_events()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert "no per-peer details" in widget_text(app.screen.query_one(ConnectionsPanel))
        agents = widget_text(app.screen.query_one(UserAgentsPanel))
        assert "no user agents" in agents and "/Satoshi:29.0.0/" in agents
        await pilot.press("m")
        await pilot.pause()
        assert "no fee histogram" in widget_text(app.screen.query_one(FeeHistogramPanel))
        assert "no fee bands" in widget_text(app.screen.query_one(FeeBandsPanel))


async def test_unavailable_and_stale_sources_are_marked_on_the_screens() -> None:
    events = all_events()
    mempool = next(p for kind, p, _ in events if kind == "network.mempool")
    broken = [
        *events,
        ("blockchain.network", None, SourceInfo(name="core", state="unavailable", reason="no rpc")),
        ("network.mempool", mempool, SourceInfo(name="core", state="stale", reason="timeout")),
    ]
    app = make_app(broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert "unavailable: no rpc" in widget_text(app.screen.query_one(ConnectionsPanel))
        await pilot.press("m")
        await pilot.pause()
        histogram = app.screen.query_one(FeeHistogramPanel)
        assert histogram.has_class("-stale")
        assert "stale" in widget_text(histogram) and "45,123 tx" in widget_text(histogram)


async def test_a_table_taller_than_the_screen_grows_and_scrolls() -> None:
    orch, bus, feed = wired(all_events())
    app = BlockSightApp(orch, feed, clock=lambda: float(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        table = app.screen.query_one(BlocksTable)
        short = table.size.height
        info = next(p for kind, p, _ in all_events() if kind == "blockchain.info")
        long_chain = tips(30, top=TIP)
        bus.publish(
            "blockchain.info",
            info.model_copy(update={"recent_blocks": summaries(long_chain)}),
            CORE,
        )
        await pilot.pause()
        # Every block has its line: the panel grew past the screen, which scrolls.
        assert table.size.height >= 31 > short
        scroll = table.parent
        assert isinstance(scroll, VerticalScroll) and scroll.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert f"{TIP - 29:,}" in widget_text(scroll)


@pytest.mark.parametrize(("mode", "demo"), [("demo", True), ("node", False)])
async def test_the_demo_header_marking_follows_onto_the_screens(mode: str, demo: bool) -> None:
    orch, _bus, feed = wired([], mode=mode, label="127.0.0.1:8332")
    app = BlockSightApp(orch, feed, clock=lambda: float(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        home = app.query_one(Header).styles.background
        await pilot.press("p")
        await pilot.pause()
        assert app.has_class("-demo") is demo
        assert app.screen.query_one(Header).styles.background == home


def test_the_status_line_names_the_chain_source_first() -> None:
    from blocksight_tui.events import SourceInfo
    from blocksight_tui.tui.widgets.status import source_summary

    sources = (
        ("price.current", SourceInfo(name="prices", state="unavailable", reason="off")),
        ("tip.height", SourceInfo(name="electrum", state="unavailable", reason="none")),
        ("tip.height", SourceInfo(name="core", state="unavailable", reason="down")),
        ("network.fees", SourceInfo(name="core", state="unavailable", reason="down")),
    )
    assert [text for text, _ in source_summary(sources)] == [
        "core unavailable",
        "prices unavailable",
        "electrum unavailable",
    ]


def test_a_source_turned_off_is_quiet_not_red() -> None:
    from blocksight_tui.events import SourceInfo
    from blocksight_tui.tui.widgets.status import source_summary

    off = SourceInfo(name="prices", state="off", reason="off (--no-price)")
    sources = (
        ("tip.height", SourceInfo(name="core")),
        ("price.current", off),
        ("fx.rates", off),
    )
    assert source_summary(sources) == [("core ok", "ok"), ("prices off", "off")]


async def test_the_price_panel_says_it_was_turned_off() -> None:
    from textual.app import App, ComposeResult

    from blocksight_tui.events import SourceInfo, make_event
    from blocksight_tui.tui.widgets.price import PricePanel, PriceSlice

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield PricePanel()

    off = SourceInfo(name="prices", state="off", reason="off (--no-price)")
    async with One().run_test(size=(40, 8)) as pilot:
        panel = pilot.app.query_one(PricePanel)
        panel.data = PriceSlice(price=make_event("price.current", None, off, seq=1))
        await pilot.pause()
        assert str(panel.render()) == "off (--no-price)"
        assert not panel.has_class("-unavailable") and not panel.has_class("-stale")


def test_the_oldest_quote_ages_between_polls() -> None:
    from blocksight_tui.events import PriceCurrent, PriceQuote, SourceInfo, make_event
    from blocksight_tui.tui.widgets.price import PricePanel, PriceSlice

    quotes = (PriceQuote(provider="kraken", price=1.0, age_s=5),)
    event = make_event(
        "price.current",
        PriceCurrent(currency="USD", price=1.0, quotes=quotes),
        SourceInfo(name="prices"),
        seq=1,
        ts=1000.0,
    )
    now = [1000.0]
    panel = PricePanel(clock=lambda: now[0])
    assert "5 s" in str(panel.lines(PriceSlice(price=event), 24)[1])
    now[0] += 30
    assert "35 s" in str(panel.lines(PriceSlice(price=event), 24)[1])
