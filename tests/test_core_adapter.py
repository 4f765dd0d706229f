"""The Core adapter's failure paths against a misbehaving local node: stalls,
warm-up, 401, garbage, endless answers, missing methods, and the breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from blocksight_tui.adapters.base import Poll, Publication
from blocksight_tui.adapters.core_rpc import STATE_TYPES, CoreRpcAdapter
from blocksight_tui.adapters.jsonrpc import JsonRpcClient
from blocksight_tui.events import Event, PriceCurrent, SourceInfo
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.scheduler import Scheduler
from tests.fake_core import FakeCore

INTERVALS = {n: 0.2 for n in ("tip", "fees", "mempool", "blockchain", "network", "mining")}


@pytest.fixture
async def fake() -> AsyncIterator[FakeCore]:
    node = FakeCore()
    await node.start()
    yield node
    await node.stop()


def adapter_for(fake: FakeCore, password: str = "right", **kw: Any) -> CoreRpcAdapter:
    client = JsonRpcClient(fake.url, "user", password, timeout=kw.pop("timeout", 5.0))
    return CoreRpcAdapter(client, INTERVALS, zmq_enabled=False, **kw)


async def run_all(adapter: CoreRpcAdapter) -> dict[str, list[Publication]]:
    return {poll.name: await poll.run() for poll in adapter.polls()}


async def test_a_healthy_node_gives_every_figure(fake: FakeCore) -> None:
    adapter = adapter_for(fake)
    try:
        out = await run_all(adapter)
    finally:
        await adapter.close()
    pubs = [p for group in out.values() for p in group]
    assert {p.type for p in pubs} == set(STATE_TYPES)
    assert all(p.source.state == "ok" for p in pubs), [p.source for p in pubs]
    fees = next(p.data for p in pubs if p.type == "network.fees")
    assert len(fees.estimates) == 14  # type: ignore[union-attr]
    assert {e.mode for e in fees.estimates} == {"economical", "conservative"}  # type: ignore[union-attr]
    network = next(p.data for p in pubs if p.type == "blockchain.network")
    assert network.peers is not None and network.traffic is not None  # type: ignore[union-attr]
    info = next(p.data for p in pubs if p.type == "blockchain.info")
    assert info.chain_tips and info.chain_tips[0].status == "active"  # type: ignore[union-attr]


async def test_a_missing_method_makes_one_figure_unavailable(fake: FakeCore) -> None:
    fake.mode = "missing-fees"
    adapter = adapter_for(fake)
    try:
        out = await run_all(adapter)
        (fees,) = out["fees"]
        assert fees.source.state == "unavailable" and fees.data is None
        assert "estimatesmartfee" in (fees.source.reason or "")
        assert all(p.source.state == "ok" for n, g in out.items() if n != "fees" for p in g)
        # Not asked again: this build does not have it.
        asked = fake.calls.count("estimatesmartfee")
        await adapter.poll_fees()
        assert fake.calls.count("estimatesmartfee") == asked
    finally:
        await adapter.close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("warmup", "node warming up: Loading block index…"), ("auth", "authentication failed")],
)
async def test_node_wide_failures_degrade_every_figure_at_once(
    fake: FakeCore, mode: str, reason: str
) -> None:
    adapter = adapter_for(fake)
    try:
        await run_all(adapter)  # healthy first: the figures have values
        fake.mode = mode
        pubs = await adapter.poll_tip()
        assert {p.type for p in pubs} == set(STATE_TYPES)
        assert {p.source.state for p in pubs} == {"stale"}
        assert all(reason in (p.source.reason or "") for p in pubs)
        assert all(p.data is not None for p in pubs)  # the last good values stay
    finally:
        await adapter.close()


async def test_the_breaker_stops_calling_a_failing_node_and_recovers(fake: FakeCore) -> None:
    adapter = adapter_for(fake)
    woken: list[tuple[str, ...]] = []
    await adapter.start(lambda *names: woken.append(names))
    try:
        fake.mode = "warmup"
        await adapter.poll_tip()
        calls = len(fake.calls)
        for poll in adapter.polls():
            await poll.run()
        assert len(fake.calls) == calls  # open: nothing sent
        fake.mode = "ok"
        await asyncio.sleep(adapter.node.breaker.retry_in() + 0.01)
        pubs = await adapter.poll_tip()
        assert pubs[-1].source.state == "ok"
        assert () in woken  # back: every poll runs at once
    finally:
        await adapter.close()


@pytest.mark.parametrize("mode", ["garbage", "huge"])
async def test_malformed_or_enormous_answers_are_refused(fake: FakeCore, mode: str) -> None:
    fake.mode = mode
    adapter = adapter_for(fake, timeout=20.0)
    try:
        pubs = await adapter.poll_blockchain()
    finally:
        await adapter.close()
    (info,) = pubs
    assert info.source.state == "unavailable"
    assert "not JSON" in (info.source.reason or "") or "refused" in (info.source.reason or "")


async def test_a_new_cookie_is_picked_up_after_a_restart(fake: FakeCore) -> None:
    fake.password = "cookie-2"
    client = JsonRpcClient(fake.url, "user", "cookie-1")
    adapter = CoreRpcAdapter(
        client, INTERVALS, zmq_enabled=False, refresh_credentials=lambda: ("user", "cookie-2")
    )
    try:
        first = await adapter.poll_mining()
        assert all("authentication failed" in (p.source.reason or "") for p in first)
        await asyncio.sleep(adapter.node.breaker.retry_in() + 0.01)
        (second,) = await adapter.poll_mining()
        assert second.source.state == "ok"
    finally:
        await adapter.close()


async def test_a_stalling_node_delays_no_other_source(fake: FakeCore) -> None:
    fake.stall_s = 2.0
    bus = EventBus()
    scheduler = Scheduler(bus)
    adapter = adapter_for(fake)
    other: list[float] = []
    lags: list[float] = []

    async def other_source() -> list[Publication]:
        other.append(time.monotonic())
        price = PriceCurrent(currency="USD", price=90_000 + len(other))
        return [Publication("price.current", price, SourceInfo(name="prices"))]

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    seen: list[Event] = []
    bus.subscribe(seen.append)
    scheduler.start([*adapter.polls(), Poll("prices", 0.1, other_source)])
    tick = asyncio.create_task(ticker())
    started = time.monotonic()
    await asyncio.sleep(2.5)
    tick.cancel()
    await scheduler.stop()
    await adapter.close()
    during = [t for t in other if t - started < 2.0]
    gaps = [b - a for a, b in zip(other, other[1:], strict=False)]
    assert len(during) >= 15, len(during)
    assert max(gaps) < 0.3
    assert max(lags) < 0.1
    # The node's own figures simply come late, when it answers.
    wall = time.time() - (time.monotonic() - started)
    assert all(e.ts - wall >= 1.9 for e in seen if e.source.name == "core")
