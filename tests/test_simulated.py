"""The embedded demo fills every field a real node adapter fills, with
figures that agree with each other, and the same run for the same seed."""

from __future__ import annotations

from typing import Any

import pytest

from blocksight_tui.adapters.pools import KNOWN_POOLS
from blocksight_tui.adapters.simulated import (
    BLOCK_VSIZE,
    RECENT_SUMMARIES,
    FeeCurve,
    SimulatedNetwork,
)
from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainMining,
    BlockchainNetwork,
    NetworkFees,
    NetworkMempool,
)
from blocksight_tui.render.histogram import depth_above
from blocksight_tui.settings import load_settings

INTERVALS = load_settings({"hub": {"enabled": False}}, environ={}).intervals.model_dump()


def network(seed: int = 5) -> tuple[SimulatedNetwork, list[float]]:
    clock = [1_700_000_000.0]
    return SimulatedNetwork(INTERVALS, seed=seed, clock=lambda: clock[0]), clock


async def latest(sim: SimulatedNetwork) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for poll in sim.polls():
        for pub in await poll.run():
            out[pub.type] = pub.data
    return out


async def test_every_new_field_is_filled() -> None:
    sim, clock = network()
    clock[0] += 120
    data = await latest(sim)
    info: BlockchainInfo = data["blockchain.info"]
    assert len(info.recent_blocks) == RECENT_SUMMARIES
    heights = [b.height for b in info.recent_blocks]
    assert heights == sorted(heights, reverse=True) and heights[0] == info.blocks
    known = {p.name for p in KNOWN_POOLS}
    for block in info.recent_blocks:
        assert block.pool is None or block.pool in known
        assert block.tx_count and block.size and block.weight and block.total_fee_btc
        assert block.weight <= 4_000_000 and block.size <= block.weight
        p = block.fee_rate_percentiles
        assert p is not None and len(p) == 5 and list(p) == sorted(p) and p[0] >= 1.0
        assert block.subsidy_btc == 3.125 and block.coinbase_tag
    assert len({b.pool for b in info.recent_blocks}) >= 3
    assert info.chain_tips[0].status == "active" and info.chain_tips[0].hash == info.best_block_hash
    assert info.sync is None  # the demo node is synced

    mempool: NetworkMempool = data["network.mempool"]
    bands = mempool.fee_histogram
    assert bands is not None and len(bands) > 30
    assert sum(b.vsize for b in bands) == mempool.vsize
    assert sum(b.tx_count for b in bands) == mempool.tx_count
    assert [b.min_sat_per_vb for b in bands] == sorted(b.min_sat_per_vb for b in bands)

    fees: NetworkFees = data["network.fees"]
    modes = {(e.target_blocks, e.mode): e.sat_per_vb for e in fees.estimates}
    targets = sorted({t for t, _ in modes})
    assert targets == [1, 2, 3, 6, 12, 24, 144]
    for t in targets:
        economical, conservative = modes[t, "economical"], modes[t, "conservative"]
        assert economical is not None and conservative is not None
        assert conservative >= economical >= 1.0
    rates = [modes[t, "economical"] for t in targets]
    assert rates == sorted(rates, reverse=True)  # type: ignore[type-var]

    net: BlockchainNetwork = data["blockchain.network"]
    assert net.peers is not None and net.traffic is not None
    assert net.peers.inbound == net.connections_in
    assert net.peers.outbound == net.connections_out
    assert sum(net.peers.by_connection_type.values()) == net.connections
    assert net.peers.v2_transport is not None and 0 < net.peers.v2_transport <= net.connections
    assert net.peers.top_user_agents and net.peers.ping_ms_median and net.peers.ping_ms_min
    assert net.traffic.receive_rate_bps and net.traffic.send_rate_bps

    mining: BlockchainMining = data["blockchain.mining"]
    assert mining.mean_block_interval_s is not None and 30 <= mining.mean_block_interval_s <= 60
    assert mining.expected_difficulty_change_pct is not None
    assert -50 < mining.expected_difficulty_change_pct < 50


async def test_the_histogram_agrees_with_the_fee_estimates() -> None:
    sim, clock = network(seed=8)
    clock[0] += 30
    data = await latest(sim)
    bands = data["network.mempool"].fee_histogram
    depths = depth_above(bands)
    estimates = {
        e.target_blocks: e.sat_per_vb for e in data["network.fees"].estimates
        if e.mode == "economical"
    }  # fmt: skip
    for target in (1, 2, 3, 6):
        rate = estimates[target]
        # What pays more than the estimate is about `target` blocks' worth.
        above = next(d for b, d in zip(bands, depths, strict=True) if b.min_sat_per_vb > rate)
        assert above <= target * BLOCK_VSIZE * 1.3, (target, rate, above)
        within = max(d for b, d in zip(bands, depths, strict=True) if b.min_sat_per_vb <= rate)
        assert within >= target * BLOCK_VSIZE * 0.5, (target, rate, within)


def test_the_fee_curve_inverts() -> None:
    curve = FeeCurve.for_mempool(30_000_000)
    for depth in (0.0, 50_000.0, 1e6, 5e6, 2e7):
        assert curve.depth_of(curve.rate_at(depth)) == pytest.approx(depth, abs=1.0)
    assert curve.rate_at(40e6) == 1.0 and curve.depth_of(1.0) == 30_000_000
    assert curve.depth_of(curve.highest + 1) == 0


async def test_a_reorg_leaves_a_valid_fork_tip() -> None:
    sim, clock = network(seed=3)
    reorg = None
    for _ in range(400):
        clock[0] += 45
        for pub in await sim.poll_tip():
            if pub.type == "chain.reorg":
                reorg = pub.data
        if reorg is not None:
            break
    assert reorg is not None, "400 blocks with no reorg"
    info = (await sim.poll_blockchain())[0].data
    assert isinstance(info, BlockchainInfo)
    forks = [t for t in info.chain_tips if t.status == "valid-fork"]
    assert forks and forks[0].hash == reorg.old_tip_hash  # type: ignore[union-attr]
    assert forks[0].height == reorg.old_tip_height and forks[0].branch_length == 1  # type: ignore[union-attr]
    assert reorg.old_tip_hash not in {b.hash for b in info.recent_blocks}  # type: ignore[union-attr]


async def test_the_same_seed_gives_the_same_run() -> None:
    runs = []
    for _ in range(2):
        sim, clock = network(seed=21)
        seen = []
        for _ in range(5):
            clock[0] += 37
            seen.append(await latest(sim))
        runs.append(seen)
    assert runs[0] == runs[1]


async def test_a_new_block_wakes_the_polls_that_follow_it() -> None:
    sim, clock = network()
    woken: list[tuple[str, ...]] = []
    await sim.start(lambda *names: woken.append(names))
    await sim.poll_tip()
    assert woken == []
    clock[0] += 120
    await sim.poll_tip()
    assert woken and "blockchain" in woken[0] and "mempool" in woken[0]


async def test_the_demo_price_is_in_the_display_currency() -> None:
    usd = SimulatedNetwork(INTERVALS, seed=3)
    jpy = SimulatedNetwork(INTERVALS, seed=3, currency="JPY")
    from blocksight_tui.events import PriceCurrent

    (in_usd,) = await usd.poll_price()
    (in_jpy,) = await jpy.poll_price()
    assert isinstance(in_usd.data, PriceCurrent) and isinstance(in_jpy.data, PriceCurrent)
    assert in_jpy.data.currency == "JPY"
    assert 150 < in_jpy.data.price / in_usd.data.price < 153  # the demo's JPY per USD, 151.2


async def test_no_price_in_the_demo_means_no_price_polls() -> None:
    from blocksight_tui.runtime import PRICES_DISABLED, Runtime
    from blocksight_tui.settings import Settings

    runtime = Runtime(Settings(prices={"enabled": False}, hub={"enabled": False}), "demo")
    polls = {p.name for a in runtime.adapters for p in a.polls()}
    assert "price" not in polls and "fx" not in polls
    await runtime.start()
    await runtime.stop()
    price = runtime.bus.latest_of("price.current")
    assert price is not None and price.data is None
    assert price.source.state == "off" and price.source.reason == PRICES_DISABLED
