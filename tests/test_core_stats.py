"""Derived figures from recorded and hand-built Bitcoin Core answers, checked by hand."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from blocksight_tui.adapters import core_stats
from blocksight_tui.adapters.core_stats import (
    SyncMeter,
    TrafficMeter,
    block_summary,
    chain_tips,
    expected_difficulty_change_pct,
    mean_block_interval,
    peer_summary,
)
from blocksight_tui.adapters.jsonrpc import BadResponse
from blocksight_tui.events import BlockSummary, SyncProgress
from tests.conftest import load_fixture

TIP = "29610bbbdcff80c45899ddb45156eba86b096bf61c6b19e6dacb33914bd050d1"
NEW_TIP = "0690281623e066c46f6cd598b9b4c7ed27ff5c88486158a9307e69da8984ca4f"


def result(name: str) -> Any:
    return copy.deepcopy(load_fixture("bitcoin-core", f"{name}.json")["response"]["result"])


# ---------------------------------------------------------------- blocks


def test_block_from_all_recorded_answers() -> None:
    block = block_summary(
        result("getblockheader"),
        result("getblockstats"),
        result("getblock-v1"),
        result("getrawtransaction-verbose"),
    )
    assert block == BlockSummary(
        height=270,
        hash=TIP,
        time=1796314946,
        tx_count=5,
        size=1138,
        weight=3136,
        total_fee_btc=0.00003556,  # 3556 sat
        fee_rate_percentiles=(1.0, 1.0, 5.0, 5.0, 12.0),
        subsidy_btc=25.0,  # regtest halves every 150 blocks: one halving by 270
        pool=None,
        coinbase_tag=None,
    )


def test_block_from_verbosity_2_and_no_stats() -> None:
    block = block_summary(result("getblockheader"), None, result("getblock-v2"))
    assert (block.tx_count, block.size, block.weight) == (5, 1138, 3136)
    assert block.total_fee_btc is None
    assert block.fee_rate_percentiles is None
    assert block.subsidy_btc is None


def test_block_from_header_alone() -> None:
    block = block_summary(result("getblockheader"))
    assert (block.height, block.hash, block.time, block.tx_count) == (270, TIP, 1796314946, 5)
    assert block.size is None and block.weight is None and block.pool is None


def test_pool_read_from_getblock_coinbase_tx() -> None:
    block = result("getblock-v1")
    block["coinbase_tx"]["coinbase"] = "020e0100" + (b"\x09/AntPool/").hex()
    summary = block_summary(result("getblockheader"), None, block)
    assert (summary.pool, summary.coinbase_tag) == ("AntPool", "/AntPool/")


def test_block_from_a_build_without_segwit_fields() -> None:
    # Shapes of the Bitcoin SV build: BTC amounts with decimals, no weight,
    # no feerate_percentiles, `num_tx` instead of `nTx`.
    header = result("getblockheader")
    del header["nTx"]
    stats = result("getblockstats")
    for key in ("feerate_percentiles", "total_weight", "swtotal_weight", "swtxs"):
        del stats[key]
    del stats["txs"]
    stats["totalfee"] = 0.00001234
    stats["subsidy"] = 6.25
    block = result("getblock-v1")
    for key in ("nTx", "weight", "strippedsize", "coinbase_tx"):
        del block[key]
    block["num_tx"] = 7
    summary = block_summary(header, stats, block, None)
    assert summary.tx_count == 7
    assert summary.weight is None
    assert summary.fee_rate_percentiles is None
    assert summary.total_fee_btc == pytest.approx(0.00001234)
    assert summary.subsidy_btc == 6.25


def test_tx_count_falls_back_to_the_txid_list() -> None:
    block = result("getblock-v1")
    del block["nTx"]
    header = result("getblockheader")
    del header["nTx"]
    assert block_summary(header, None, block).tx_count == 5


@pytest.mark.parametrize(
    ("value", "btc"),
    [
        (3556, 0.00003556),  # Core: integer satoshis
        (0, 0.0),
        (2_500_000_000, 25.0),
        (0.0, 0.0),  # BSV: BTC with decimals, "0.00000000"
        (0.00003556, 0.00003556),
        (12.5, 12.5),
        (None, None),
    ],
)
def test_amounts(value: Any, btc: float | None) -> None:
    assert core_stats.amount_btc(value, "x") == pytest.approx(btc)


@pytest.mark.parametrize("value", [True, "3556", [1]])
def test_amount_that_is_not_a_number(value: Any) -> None:
    with pytest.raises(BadResponse):
        core_stats.amount_btc(value, "x")


def _broken(part: str, change: Any) -> tuple[Any, Any, Any, Any]:
    parts = {
        "header": result("getblockheader"),
        "stats": result("getblockstats"),
        "block": result("getblock-v1"),
        "coinbase": result("getrawtransaction-verbose"),
    }
    parts[part] = change(parts[part])
    return parts["header"], parts["stats"], parts["block"], parts["coinbase"]


def _without(key: str) -> Any:
    def change(d: dict[str, Any]) -> dict[str, Any]:
        del d[key]
        return d

    return change


def _with(key: str, value: Any) -> Any:
    def change(d: dict[str, Any]) -> dict[str, Any]:
        d[key] = value
        return d

    return change


@pytest.mark.parametrize(
    ("part", "change"),
    [
        ("header", lambda _: None),
        ("header", lambda _: [1, 2]),
        ("header", _without("hash")),
        ("header", _without("height")),
        ("header", _with("hash", "not-a-hash")),
        ("header", _with("height", -1)),
        ("stats", lambda _: "stats"),
        ("stats", _with("blockhash", NEW_TIP)),  # answers straddling a reorg
        ("stats", _with("feerate_percentiles", [1, 2, 3])),
        ("stats", _with("feerate_percentiles", "1,1,5,5,12")),
        ("stats", _with("feerate_percentiles", [1, 1, 5, "5", 12])),
        ("stats", _with("totalfee", -5)),
        ("stats", _with("txs", "5")),
        ("block", _with("hash", NEW_TIP)),
        ("block", _with("size", "1138")),
        ("coinbase", _with("blockhash", NEW_TIP)),
        ("coinbase", lambda _: "013f1e"),
        ("coinbase", lambda c: {**c, "vin": [{"coinbase": "zz"}]}),
    ],
)
def test_malformed_block_answers(part: str, change: Any) -> None:
    with pytest.raises(BadResponse):
        block_summary(*_broken(part, change))


def _block(height: int, time: int) -> BlockSummary:
    return BlockSummary(height=height, hash=f"{height:064x}", time=time)


def test_mean_block_interval() -> None:
    blocks = [_block(102, 1300), _block(100, 0), _block(101, 500)]
    assert mean_block_interval(blocks) == 650  # 1300 s over two intervals
    assert mean_block_interval([_block(100, 0), _block(110, 6000)]) == 600  # gaps are fine


@pytest.mark.parametrize(
    "blocks",
    [
        [],
        [_block(100, 0)],
        [_block(100, 0), _block(100, 600)],
        [_block(100, 600), _block(101, 0)],  # header times may go back
    ],
)
def test_mean_block_interval_unknown(blocks: list[BlockSummary]) -> None:
    assert mean_block_interval(blocks) is None


# ---------------------------------------------------------------- retarget


@pytest.mark.parametrize(
    ("mined", "elapsed", "pct"),
    [
        (504, 302_400, 0.0),  # 600 s a block
        (504, 282_240, 7.142857),  # 560 s: 600/560 - 1
        (1008, 604_800, 0.0),
        (1008, 1_209_600, -50.0),  # 1200 s a block
        (2015, 1_208_999, 0.0000827),  # 599.999504 s
        (1, 300, 100.0),
        (1, 1, 300.0),  # capped at ×4
        (10, 0, 300.0),
        (10, -50, 300.0),
        (2015, 10**9, -75.0),  # capped at ÷4
    ],
)
def test_expected_difficulty_change(mined: int, elapsed: int, pct: float) -> None:
    start_height = 2016 * 440
    start_time = 1_700_000_000
    change = expected_difficulty_change_pct(start_height + mined, start_time + elapsed, start_time)
    assert change == pytest.approx(pct, abs=1e-5)


def test_no_estimate_at_the_first_block_of_a_period() -> None:
    assert expected_difficulty_change_pct(2016 * 440, 1_700_000_000, 1_700_000_000) is None
    assert expected_difficulty_change_pct(0, 0, 0) is None


def test_retarget_start_height() -> None:
    assert core_stats.retarget_start_height(2016 * 440 + 5) == 2016 * 440
    assert core_stats.retarget_start_height(2016 * 440) == 2016 * 440
    assert core_stats.retarget_start_height(result("getmininginfo")["blocks"]) == 0


# ---------------------------------------------------------------- chain tips


def test_chain_tips_recorded() -> None:
    (only,) = chain_tips(result("getchaintips"))
    assert (only.height, only.hash, only.branch_length, only.status) == (270, TIP, 0, "active")
    after_reorg = chain_tips(result("getchaintips-after-reorg"))
    assert [(t.height, t.status) for t in after_reorg] == [(271, "active"), (270, "invalid")]
    assert after_reorg[1].branch_length == 1
    reconsidered = chain_tips(result("getchaintips-after-reconsider"))
    assert [t.status for t in reconsidered] == ["active", "valid-fork"]


def test_chain_tips_order_and_cap() -> None:
    raw = [
        {"height": h, "hash": f"{h:064x}", "branchlen": 1, "status": "valid-headers"}
        for h in range(100, 120)
    ]
    raw.append({"height": 90, "hash": f"{90:064x}", "branchlen": 0, "status": "active"})
    tips = chain_tips(raw)
    assert len(tips) == core_stats.CHAIN_TIPS_SHOWN
    assert tips[0].status == "active"
    assert [t.height for t in tips[1:]] == list(range(119, 110, -1))
    assert len(chain_tips(raw, limit=3)) == 3


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {"height": 1},
        ["tip"],
        [{"height": 1, "hash": TIP, "status": "active"}],
        [{"height": 1, "hash": "xyz", "branchlen": 0, "status": "active"}],
        [{"height": -1, "hash": TIP, "branchlen": 0, "status": "active"}],
    ],
)
def test_malformed_chain_tips(raw: Any) -> None:
    with pytest.raises(BadResponse):
        chain_tips(raw)


# ---------------------------------------------------------------- sync


def _info(blocks: int, headers: int, progress: float, ibd: bool | None = True) -> dict[str, Any]:
    info: dict[str, Any] = {
        "blocks": blocks,
        "headers": headers,
        "verificationprogress": progress,
    }
    if ibd is not None:
        info["initialblockdownload"] = ibd
    return info


def test_sync_pace_between_samples() -> None:
    meter = SyncMeter()
    assert meter.update(_info(100_000, 900_000, 0.05), now=10.0) == SyncProgress(
        progress=0.05, blocks_behind=800_000
    )
    second = meter.update(_info(100_500, 900_000, 0.06), now=20.0)
    assert second == SyncProgress(
        progress=0.06, blocks_behind=799_500, blocks_per_second=50.0, eta_seconds=15_990.0
    )
    # Only the last two samples count.
    third = meter.update(_info(100_600, 900_000, 0.07), now=30.0)
    assert third is not None and third.blocks_per_second == 10.0
    assert third.eta_seconds == pytest.approx(79_940.0)


def test_sync_stalled_and_odd_samples() -> None:
    meter = SyncMeter()
    meter.update(_info(1000, 2000, 0.1), now=0.0)
    stalled = meter.update(_info(1000, 2000, 0.1), now=5.0)
    assert stalled is not None
    assert stalled.blocks_per_second == 0.0 and stalled.eta_seconds is None
    same_time = meter.update(_info(1010, 2000, 0.1), now=5.0)
    assert same_time is not None and same_time.blocks_per_second is None
    went_back = meter.update(_info(900, 2000, 0.1), now=10.0)  # a restart with -reindex
    assert went_back is not None and went_back.blocks_per_second is None
    meter.reset()
    assert meter.update(_info(950, 2000, 0.1), now=15.0) == SyncProgress(
        progress=0.1, blocks_behind=1050
    )


def test_sync_recorded() -> None:
    meter = SyncMeter()
    fresh = meter.update(result("getblockchaininfo-fresh"), now=0.0)
    assert fresh is not None
    assert fresh.blocks_behind == 0 and fresh.progress == pytest.approx(2.0e-6, rel=1e-3)
    assert fresh.blocks_per_second is None
    assert meter.update(result("getblockchaininfo"), now=60.0) is None


@pytest.mark.parametrize(
    ("info", "in_ibd"),
    [
        (_info(10, 10, 1.0, ibd=False), False),
        (_info(5, 10, 0.5, ibd=False), False),  # the node's word is final
        (_info(10, 10, 1.0, ibd=True), True),
        # Builds without `initialblockdownload`:
        (_info(10, 10, 0.99999, ibd=None), False),
        (_info(10, 10, 0.9998, ibd=None), True),
        (_info(9, 10, 1.0, ibd=None), True),
    ],
)
def test_initial_download_detection(info: dict[str, Any], in_ibd: bool) -> None:
    assert core_stats.in_initial_download(info) is in_ibd
    assert (SyncMeter().update(info, now=0.0) is not None) is in_ibd


@pytest.mark.parametrize(
    "info",
    [
        None,
        [],
        {"headers": 10, "verificationprogress": 0.5},
        {"blocks": 1, "verificationprogress": 0.5},
        {"blocks": 1, "headers": 10},
        {"blocks": "1", "headers": 10, "verificationprogress": 0.5},
        {"blocks": 1, "headers": 10, "verificationprogress": "0.5"},
        {"blocks": None, "headers": 10, "verificationprogress": 0.5},
    ],
)
def test_malformed_blockchain_info(info: Any) -> None:
    with pytest.raises(BadResponse):
        SyncMeter().update(info, now=0.0)


# ---------------------------------------------------------------- peers


def _peer(**fields: Any) -> dict[str, Any]:
    return {"inbound": False, "subver": "/Satoshi:31.1.0/", **fields}


def test_peers_recorded() -> None:
    peers = peer_summary(result("getpeerinfo"))
    assert (peers.inbound, peers.outbound) == (0, 1)
    assert peers.by_connection_type == {"manual": 1}
    assert peers.v2_transport == 1
    assert peers.top_user_agents == (("/Satoshi:31.1.0/", 1),)
    assert peers.ping_ms_median == 0.106 and peers.ping_ms_min == 0.106  # 0.000106 s


def test_peers_counted() -> None:
    raw = [
        _peer(connection_type="outbound-full-relay", transport_protocol_type="v2", pingtime=0.1),
        _peer(connection_type="outbound-full-relay", transport_protocol_type="v1", pingtime=0.05),
        _peer(connection_type="block-relay-only", transport_protocol_type="v1", pingtime=0.2),
        _peer(
            inbound=True,
            connection_type="inbound",
            transport_protocol_type="v2",
            subver="/Satoshi:27.0.0(comment here)/",
        ),
        _peer(inbound=True, connection_type="inbound", transport_protocol_type="detecting"),
        _peer(inbound=True, connection_type="inbound", subver="/Satoshi:27.0.0/", pingtime=0.4),
        _peer(inbound=True, subver="/Satoshi:0.21.0/Knots:20210629/"),
        _peer(inbound=True, subver=""),
    ]
    peers = peer_summary(raw)
    assert (peers.inbound, peers.outbound) == (5, 3)
    assert peers.by_connection_type == {
        "outbound-full-relay": 2,
        "block-relay-only": 1,
        "inbound": 3,
    }
    assert peers.v2_transport == 2
    assert peers.top_user_agents == (
        ("/Satoshi:31.1.0/", 4),
        ("/Satoshi:27.0.0/", 2),
        ("/Satoshi:0.21.0/Knots:20210629/", 1),
    )
    # 50, 100, 200, 400 ms
    assert peers.ping_ms_median == 150.0
    assert peers.ping_ms_min == 50.0


def test_user_agents_top_five_ties_by_name() -> None:
    raw = [_peer(subver=f"/Client:{n}/") for n in "fedcba"] + [_peer(subver="/Client:z/")] * 2
    agents = peer_summary(raw).top_user_agents
    assert agents == (
        ("/Client:z/", 2),
        ("/Client:a/", 1),
        ("/Client:b/", 1),
        ("/Client:c/", 1),
        ("/Client:d/", 1),
    )


@pytest.mark.parametrize(
    ("subver", "shown"),
    [
        ("/Satoshi:31.1.0/", "/Satoshi:31.1.0/"),
        ("/Satoshi:26.0.0(bitcoin-node)/", "/Satoshi:26.0.0/"),
        ("  /btcwire:0.5.0/btcd:0.24.0/  ", "/btcwire:0.5.0/btcd:0.24.0/"),
        ("/evil\x1b[31m/", "/evil[31m/"),
        ("/" + "x" * 100 + "/", "/" + "x" * 39),
    ],
)
def test_user_agent_normalised(subver: str, shown: str) -> None:
    assert core_stats.normalise_user_agent(subver) == shown


def test_peers_of_a_build_without_newer_fields() -> None:
    # Bitcoin SV: no connection_type, no transport_protocol_type.
    raw = [_peer(pingtime=0.02), _peer(inbound=True)]
    peers = peer_summary(raw)
    assert peers.by_connection_type == {}
    assert peers.v2_transport is None
    assert peers.ping_ms_median == 20.0 and peers.ping_ms_min == 20.0


def test_no_peers() -> None:
    peers = peer_summary([])
    assert (peers.inbound, peers.outbound, peers.v2_transport) == (0, 0, None)
    assert peers.top_user_agents == () and peers.ping_ms_median is None


@pytest.mark.parametrize("raw", [None, {"inbound": False}, ["peer"], [{"subver": "/x/"}]])
def test_malformed_peers(raw: Any) -> None:
    with pytest.raises(BadResponse):
        peer_summary(raw)


# ---------------------------------------------------------------- traffic


def _totals(received: int, sent: int, millis: int | None) -> dict[str, Any]:
    totals: dict[str, Any] = {"totalbytesrecv": received, "totalbytessent": sent}
    if millis is not None:
        totals["timemillis"] = millis
    return totals


def test_traffic_recorded_then_rates() -> None:
    meter = TrafficMeter()
    first = meter.update(result("getnettotals"))
    assert (first.bytes_received, first.bytes_sent) == (10406, 227734)
    assert first.receive_rate_bps is None and first.send_rate_bps is None
    second = meter.update(_totals(10406 + 10_000, 227734 + 5_000, 1796314921868 + 2_000))
    assert second.receive_rate_bps == 5_000.0
    assert second.send_rate_bps == 2_500.0


def test_traffic_restart_and_same_time() -> None:
    meter = TrafficMeter()
    meter.update(_totals(1_000_000, 2_000_000, 1_000))
    restarted = meter.update(_totals(500, 2_500_000, 3_000))
    assert restarted.bytes_received == 500
    assert restarted.receive_rate_bps is None and restarted.send_rate_bps is None
    # The next sample measures from the restarted counters.
    after = meter.update(_totals(1_500, 2_501_000, 4_000))
    assert (after.receive_rate_bps, after.send_rate_bps) == (1_000.0, 1_000.0)
    same_time = meter.update(_totals(2_000, 2_502_000, 4_000))
    assert same_time.receive_rate_bps is None


def test_traffic_without_node_time_uses_ours() -> None:
    meter = TrafficMeter()
    meter.update(_totals(0, 0, None), now=100.0)
    later = meter.update(_totals(400, 800, None), now=104.0)
    assert (later.receive_rate_bps, later.send_rate_bps) == (100.0, 200.0)
    no_clock = TrafficMeter()
    no_clock.update(_totals(0, 0, None))
    assert no_clock.update(_totals(10, 10, None)).receive_rate_bps is None
    meter.reset()
    assert meter.update(_totals(500, 900, None), now=105.0).receive_rate_bps is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {"totalbytessent": 1, "timemillis": 1},
        {"totalbytesrecv": 1, "timemillis": 1},
        {"totalbytesrecv": "1", "totalbytessent": 1},
        {"totalbytesrecv": -1, "totalbytessent": 1},
        {"totalbytesrecv": 1, "totalbytessent": 1, "timemillis": "now"},
    ],
)
def test_malformed_traffic(raw: Any) -> None:
    with pytest.raises(BadResponse):
        TrafficMeter().update(raw)
