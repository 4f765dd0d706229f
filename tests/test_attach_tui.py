"""The app in attach mode through Pilot, fed by a real hub on loopback: the
link's state in the status line, the remote figures in the panels, stale
while the hub is away, and a restarted hub's state once it is back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from pydantic import SecretStr
from textual.pilot import Pilot

from blocksight_tui.adapters.resilience import Backoff
from blocksight_tui.events import SourceInfo
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.server import HubServer
from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.remote.link import HubLink
from blocksight_tui.remote.url import parse_hub_url
from blocksight_tui.tui.app import BlockSightApp
from blocksight_tui.tui.widgets.chain_view import ChainView
from blocksight_tui.tui.widgets.price import PricePanel
from blocksight_tui.tui.widgets.status import StatusBar
from blocksight_tui.tui.widgets.tip import TipPanel
from tests.attach_support import free_port
from tests.tui_support import CORE, NOW, TIP, all_events, screen_text, tips, widget_text


@pytest.fixture
async def hubs() -> AsyncIterator[list[HubServer]]:
    made: list[HubServer] = []
    yield made
    for hub in made:
        await hub.stop()


async def wait_for(
    pilot: Pilot[None], predicate: Callable[[], bool], what: str, tries: int = 200
) -> None:
    for _ in range(tries):
        await pilot.pause(0.02)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def test_attached_at_80x24_the_link_and_the_remote_figures_show(
    hubs: list[HubServer],
) -> None:
    bus = EventBus(clock=lambda: float(NOW))
    for kind, payload, source in all_events():
        bus.publish(kind, payload, source)
    port = free_port()
    first = HubServer(bus, "127.0.0.1", port)
    await first.start()
    hubs.append(first)

    address = parse_hub_url(f"ws://127.0.0.1:{port}")
    orchestrator = MainOrchestrator.standard(mode="attach", label=address.label)
    link = HubLink(address, orchestrator, backoff=Backoff(0.05, 0.2))
    app = BlockSightApp(orchestrator, link)
    async with app.run_test(size=(80, 24)) as pilot:
        tip = app.query_one(TipPanel)
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: f"{TIP:,}" in widget_text(tip), "the remote tip")
        header = screen_text(app).splitlines()[0]
        assert f"ATTACHED ws://127.0.0.1:{port}" in header
        await wait_for(pilot, lambda: "connected to" in widget_text(status), "connected")
        line = widget_text(status)
        assert line.lstrip().startswith("ATTACHED")
        assert f"connected to 127.0.0.1:{port}" in line
        assert "core ok" in line
        assert "$104,322" in widget_text(app.query_one(PricePanel))
        assert not tip.has_class("-stale")

        await first.stop()
        await wait_for(pilot, lambda: "reconnecting" in widget_text(status), "reconnecting")
        line = widget_text(status)
        assert "hub shutting down" in line or "connection refused" in line
        assert "core" not in line  # every source is stale for the link's reason: said once
        for widget in (tip, app.query_one(ChainView), app.query_one(PricePanel)):
            assert widget.has_class("-stale"), type(widget).__name__
        assert f"{TIP:,}" in widget_text(tip) and "stale" in widget_text(tip)

        # Another hub on the same port, further up the chain.
        fresh = EventBus()
        fresh.publish("tip.height", tips(1, top=TIP + 5)[0], CORE)
        second = HubServer(fresh, "127.0.0.1", port)
        await second.start()
        hubs.append(second)
        await wait_for(pilot, lambda: f"{TIP + 5:,}" in widget_text(tip), "the new hub's tip")
        await wait_for(pilot, lambda: "connected to" in widget_text(status), "connected again")
        assert not tip.has_class("-stale")
        assert "waiting…" in widget_text(app.query_one(PricePanel))  # the new hub has none
        line = widget_text(status)
        assert "core ok" in line and "prices" not in line
        await pilot.press("q")
    assert link._task is None  # quitting stopped the link


async def test_attached_to_a_hub_that_runs_the_demo_the_header_says_so(
    hubs: list[HubServer],
) -> None:
    """Made-up figures must not pass for a node's on the laptop either."""
    demo = SourceInfo(name="demo")
    bus = EventBus(clock=lambda: float(NOW))
    bus.publish("tip.height", tips(1)[0], demo)
    hub = HubServer(bus, "127.0.0.1", free_port())
    await hub.start()
    hubs.append(hub)
    address = parse_hub_url(hub.url)
    orchestrator = MainOrchestrator.standard(mode="attach", label=address.label)
    app = BlockSightApp(orchestrator, HubLink(address, orchestrator))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.has_class("-demo"), "the demo noticed")
        header = screen_text(app).splitlines()[0]
        assert f"ATTACHED {address.label} · DEMO" in header
        await pilot.press("q")


async def test_a_refused_token_is_said_in_the_status_line() -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=401)

    app_ = web.Application()
    app_.router.add_get("/ws", refuse)
    runner = web.AppRunner(app_)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        address = parse_hub_url(f"ws://127.0.0.1:{port}/ws")
        orchestrator = MainOrchestrator.standard(mode="attach", label=address.label)
        link = HubLink(address, orchestrator, token=SecretStr("wrong"))
        app = BlockSightApp(orchestrator, link)
        async with app.run_test(size=(80, 24)) as pilot:
            status = app.query_one(StatusBar)
            await wait_for(pilot, lambda: "refused" in widget_text(status), "refused")
            line = widget_text(status)
            assert re.search(r"refused: bad or missing token \(HTTP 401\) · retry in \d+ s", line)
            assert "waiting…" in widget_text(app.query_one(TipPanel))
    finally:
        await runner.cleanup()
