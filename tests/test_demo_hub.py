"""The embedded demo end to end: simulated network → bus → hub → a real
WebSocket client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from blocksight_tui.adapters.simulated import SimulatedNetwork
from blocksight_tui.events import EVENT_TYPES, parse_event
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import load_settings
from tests.hub_client import HubClient


@pytest.fixture
async def demo_runtime() -> AsyncIterator[Runtime]:
    settings = load_settings(
        {"hub": {"port": 0}, "demo": {"mode": "on", "seed": 7, "speed": 60.0}}, environ={}
    )
    runtime = Runtime(settings, "demo")
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_snapshot_holds_every_type_then_new_events_follow(demo_runtime: Runtime) -> None:
    assert demo_runtime.hub_url is not None
    # Every poll runs once at start: all types but a reorg are out at once.
    for _ in range(100):
        if {e.type for e in demo_runtime.bus.latest()} >= set(EVENT_TYPES) - {"chain.reorg"}:
            break
        await asyncio.sleep(0.05)

    client = await HubClient.connect(demo_runtime.hub_url)
    try:
        hello = await client.next_frame(5)
        assert hello["frame"] == "hello" and set(hello["types"]) == set(EVENT_TYPES)
        snapshot = await client.next_frame(5)
        assert snapshot["frame"] == "snapshot"
        types = {e["type"] for e in snapshot["events"]}
        # A reorg happens only now and then; every other type is always there.
        assert types >= set(EVENT_TYPES) - {"chain.reorg"}
        for raw in snapshot["events"]:
            event = parse_event(raw)
            assert event.source.name == "demo" and event.data is not None
        last = snapshot["last_seq"]
        frame = await client.wait_for(lambda f: f["frame"] == "event", timeout=10)
        assert frame["event"]["seq"] > last
        # At 60x a block lands every 0.5–1 s: the tip moves while we watch.
        tip0 = max(e["data"]["height"] for e in client.events("tip.height"))
        await client.wait_for(
            lambda f: f["frame"] == "event" and f["event"]["type"] == "tip.height"
            and f["event"]["data"]["height"] > tip0,
            timeout=10,
        )
    finally:
        await client.close()


async def test_demo_eventually_reorgs_with_a_one_block_reorg() -> None:
    settings = load_settings({"hub": {"enabled": False}}, environ={})
    clock = [1_000_000.0]
    sim = SimulatedNetwork(settings.intervals.model_dump(), seed=3, clock=lambda: clock[0])
    reorgs = []
    heights = []
    for _ in range(400):
        clock[0] += 45
        for pub in await sim.poll_tip():
            if pub.type == "chain.reorg":
                reorgs.append(pub.data)
            else:
                heights.append(pub.data.height)  # type: ignore[union-attr]
    assert reorgs, "400 blocks with no reorg"
    assert all(r.depth == 1 and r.new_tip_height == r.old_tip_height + 1 for r in reorgs)
    assert heights == sorted(heights)
    assert 300 <= heights[-1] - heights[0] <= 600
