"""The bus, the per-client outbox, and the hub's isolation of slow clients."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from blocksight_tui.adapters.base import Poll, Publication
from blocksight_tui.events import SourceInfo, TipHeight
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.clients import Outbox, OutboxOverflow
from blocksight_tui.hub.scheduler import Scheduler
from blocksight_tui.hub.server import HubServer
from tests.hub_client import HubClient

SRC = SourceInfo(name="core")


def tip(height: int) -> TipHeight:
    return TipHeight(height=height, hash=f"{height:064x}", time=height)


def test_bus_keeps_latest_per_type_and_numbers_events() -> None:
    bus = EventBus(clock=lambda: 5.0)
    seen = []
    bus.subscribe(seen.append)
    bus.publish("tip.height", tip(1), SRC)
    bus.publish("tip.height", tip(2), SRC)
    assert [e.seq for e in seen] == [1, 2]
    latest = bus.latest_of("tip.height")
    assert latest is not None and latest.data == tip(2) and latest.ts == 5.0


def test_bus_drops_repeats_but_not_state_changes() -> None:
    bus = EventBus()
    assert bus.publish("tip.height", tip(1), SRC) is not None
    assert bus.publish("tip.height", tip(1), SRC) is None
    stale = SourceInfo(name="core", state="stale", reason="node unreachable")
    assert bus.publish("tip.height", tip(1), stale) is not None


def test_a_failing_listener_does_not_stop_the_others() -> None:
    bus = EventBus()
    seen = []

    def broken(_: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish("tip.height", tip(1), SRC)
    assert len(seen) == 1


async def test_outbox_coalesces_by_type_but_keeps_every_reorg() -> None:
    box = Outbox(max_pending_reorgs=2)
    box.put("tip.height", 1, "t1")
    box.put("network.fees", 2, "f2")
    box.put("chain.reorg", 3, "r3")
    box.put("tip.height", 4, "t4")
    box.put("chain.reorg", 5, "r5")
    assert box.take() == ["f2", "r3", "t4", "r5"]
    assert box.dropped == 1
    box.put("chain.reorg", 6, "r6")
    box.put("chain.reorg", 7, "r7")
    with pytest.raises(OutboxOverflow):
        box.put("chain.reorg", 8, "r8")


async def test_a_stalled_poll_delays_no_other_poll() -> None:
    bus = EventBus()
    scheduler = Scheduler(bus)
    release = asyncio.Event()
    fast_runs = 0

    async def stalled() -> list[Publication]:
        await release.wait()
        return []

    async def fast() -> list[Publication]:
        nonlocal fast_runs
        fast_runs += 1
        return [Publication("tip.height", tip(fast_runs), SRC)]

    scheduler.start([Poll("slow", 0.01, stalled), Poll("fast", 0.05, fast)])
    await asyncio.sleep(1.0)
    release.set()
    await scheduler.stop()
    assert fast_runs >= 10
    assert bus.last_seq == fast_runs


async def test_a_poll_that_raises_keeps_polling() -> None:
    bus = EventBus()
    scheduler = Scheduler(bus)
    runs = 0

    async def flaky() -> list[Publication]:
        nonlocal runs
        runs += 1
        if runs % 2:
            raise ValueError("bug")
        return [Publication("tip.height", tip(runs), SRC)]

    scheduler.start([Poll("flaky", 0.02, flaky)])
    await asyncio.sleep(0.3)
    await scheduler.stop()
    assert runs > 4 and bus.last_seq >= 2


async def test_slow_client_does_not_hold_up_a_fast_one() -> None:
    bus = EventBus()
    hub = HubServer(bus, "127.0.0.1", 0)
    await hub.start()
    slow = await HubClient.connect(hub.url)  # connects but never reads
    fast = await HubClient.connect(hub.url)
    try:
        for height in range(1, 2001):
            bus.publish("tip.height", tip(height), SRC)
            if height % 100 == 0:
                await asyncio.sleep(0)
        frame = await fast.wait_for(
            lambda f: f["frame"] == "event" and f["event"]["data"]["height"] == 2000, timeout=5
        )
        assert frame["event"]["seq"] == 2000
        assert hub.client_count == 2
    finally:
        await slow.close()
        await fast.close()
        await hub.stop()


async def test_stop_closes_clients_with_going_away(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    hub = HubServer(bus, "127.0.0.1", 0)
    await hub.start()
    clients = [await HubClient.connect(hub.url) for _ in range(3)]
    for client in clients:
        await client.next_frame(2)  # hello
        await client.next_frame(2)  # snapshot
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level("INFO", logger="blocksight_tui.hub.server"):
        await hub.stop()
    for client in clients:
        msg = await client.ws.receive(timeout=2)
        assert client.ws.close_code == 1001 or msg.data == 1001
        await client.close()
    assert loop.time() - started < 2.0
    # Said once for all, not as each one leaving.
    said = [r.getMessage() for r in caplog.records]
    assert "hub closing 3 clients (1001)" in said
    assert not [line for line in said if " left (" in line]


def test_headless_parts_never_load_textual() -> None:
    code = (
        "import sys, blocksight_tui.runtime, blocksight_tui.orchestrator.main, "
        "blocksight_tui.render.braille, blocksight_tui.render.chain, blocksight_tui.render.format; "
        "sys.exit(1 if any(m == 'textual' or m.startswith('textual.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


async def test_a_triggered_poll_runs_at_once() -> None:
    bus = EventBus()
    scheduler = Scheduler(bus)
    runs = 0

    async def counted() -> list[Publication]:
        nonlocal runs
        runs += 1
        return []

    scheduler.start([Poll("tip", 3600, counted), Poll("other", 3600, counted)])
    await asyncio.sleep(0.05)
    assert runs == 2
    scheduler.trigger("tip")
    await asyncio.sleep(0.05)
    assert runs == 3
    scheduler.trigger()
    await asyncio.sleep(0.05)
    assert runs == 5
    await scheduler.stop()
