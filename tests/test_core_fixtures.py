"""Every recorded Bitcoin Core answer parses, and the derived figures are right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blocksight_tui.adapters import core_parse
from blocksight_tui.adapters.jsonrpc import (
    AuthFailed,
    BadResponse,
    Call,
    MethodNotFound,
    NodeWarmingUp,
    RpcError,
    error_from,
    parse_batch,
    parse_single,
)
from tests.conftest import FIXTURES

CORE = FIXTURES / "bitcoin-core"
PARSERS = {
    "getblockchaininfo": core_parse.parse_blockchain_info,
    "getmempoolinfo": core_parse.parse_mempool,
    "getnetworkinfo": core_parse.parse_network_info,
    "getmininginfo": core_parse.parse_mining_info,
    "getblockheader": core_parse.parse_tip,
}


def exchanges() -> list[Path]:
    return sorted(CORE.glob("*.json"))


def test_fixtures_are_there() -> None:
    assert len(exchanges()) > 40


@pytest.mark.parametrize("path", exchanges(), ids=lambda p: p.stem)
def test_every_recorded_answer_is_understood(path: Path) -> None:
    exchange = json.loads(path.read_text())
    request, response = exchange["request"], exchange["response"]
    if exchange["http_status"] == 401:
        assert response == ""  # what the client turns into AuthFailed
        assert "authentication failed" in str(AuthFailed())
        return
    if isinstance(request, list):
        calls = [Call(r["method"], tuple(r["params"])) for r in request]
        results = parse_batch(response, calls, first_id=request[0]["id"])
        assert len(results) == len(calls)
        return
    method = request["method"]
    try:
        result = parse_single(response, method)
    except RpcError as exc:
        assert exchange["http_status"] != 200 or "error" in response
        assert str(exc)
        return
    parser = PARSERS.get(method)
    if method == "estimatesmartfee":
        mode = "conservative" if "conservative" in path.stem else "economical"
        estimate = core_parse.parse_fee_estimate(result, request["params"][0], mode)
        assert estimate.target_blocks == request["params"][0]
        if "nodata" in path.stem:
            assert estimate.sat_per_vb is None
        else:
            assert estimate.sat_per_vb is not None and estimate.sat_per_vb > 0
    elif parser is not None and not (method == "getblockheader" and isinstance(result, str)):
        payload = parser(result)
        assert payload == type(payload).model_validate_json(payload.model_dump_json())


def test_blockchain_info_figures() -> None:
    raw = json.loads((CORE / "getblockchaininfo.json").read_text())["response"]["result"]
    info = core_parse.parse_blockchain_info(raw)
    assert (info.chain, info.blocks, info.headers) == ("regtest", 270, 270)
    assert info.initial_block_download is False
    assert info.size_on_disk == 234527
    assert info.warnings == ()


def test_fresh_node_is_in_initial_download() -> None:
    raw = json.loads((CORE / "getblockchaininfo-fresh.json").read_text())["response"]["result"]
    assert core_parse.parse_blockchain_info(raw).initial_block_download is True


def test_mempool_figures_in_sat_per_vb() -> None:
    raw = json.loads((CORE / "getmempoolinfo.json").read_text())["response"]["result"]
    mempool = core_parse.parse_mempool(raw)
    assert (mempool.tx_count, mempool.vsize, mempool.usage) == (25, 3525, 30296)
    assert mempool.max_usage == 300_000_000
    assert mempool.min_fee_sat_per_vb == 0.1  # 1e-06 BTC/kvB
    assert mempool.full_rbf is True


def test_fee_estimate_conversion() -> None:
    raw = json.loads((CORE / "estimatesmartfee-6.json").read_text())["response"]["result"]
    # 2.111e-05 BTC/kvB = 2111 sat / 1000 vB
    assert core_parse.parse_fee_estimate(raw, 6).sat_per_vb == 2.111


def test_network_figures() -> None:
    raw = json.loads((CORE / "getnetworkinfo.json").read_text())["response"]["result"]
    net = core_parse.parse_network_info(raw)
    assert net.subversion == "/Satoshi:31.1.0/"
    assert (net.connections, net.connections_in, net.connections_out) == (1, 0, 1)
    assert net.reachable_networks == ("ipv4", "ipv6")


def test_mining_figures_on_regtest() -> None:
    raw = json.loads((CORE / "getmininginfo.json").read_text())["response"]["result"]
    mining = core_parse.parse_mining_info(raw)
    # Height 270: next retarget at 2016, next regtest halving at 300 (every 150),
    # block 271 is in the second era: 25 BTC.
    assert mining.blocks_until_retarget == 2016 - 270
    assert mining.blocks_until_halving == 30
    assert mining.subsidy_btc == 25.0


@pytest.mark.parametrize(
    ("height", "retarget", "halving", "subsidy"),
    [
        (0, 2016, 210_000, 50.0),
        (2015, 1, 207_985, 50.0),
        (2016, 2016, 207_984, 50.0),
        (839_999, 673, 1, 6.25),  # 417 * 2016 = 840,672; block 840,000 pays 3.125
        (840_000, 672, 210_000, 3.125),
        (975_000, 744, 75_000, 3.125),  # 484 * 2016 = 975,744
    ],
)
def test_mainnet_countdowns(height: int, retarget: int, halving: int, subsidy: float) -> None:
    assert core_parse.blocks_until_retarget(height) == retarget
    assert core_parse.blocks_until_halving(height, "main") == halving
    assert core_parse.subsidy_btc(height, "main") == subsidy


def test_typed_errors() -> None:
    warmup = json.loads((CORE / "error-warmup.json").read_text())["response"]["error"]
    assert isinstance(error_from(warmup, "getblockchaininfo"), NodeWarmingUp)
    assert "warming up" in str(error_from(warmup, "getblockchaininfo"))
    missing = json.loads((CORE / "error-method-not-found.json").read_text())["response"]["error"]
    assert isinstance(error_from(missing, "estimatesmartfee"), MethodNotFound)


@pytest.mark.parametrize(
    "bad",
    [[], "x", {"blocks": -1}, {"chain": "main"}, None],
)
def test_malformed_answers_are_refused_not_crashing(bad: object) -> None:
    with pytest.raises(BadResponse):
        core_parse.parse_blockchain_info(bad)
    with pytest.raises(BadResponse):
        core_parse.parse_mining_info(bad)
