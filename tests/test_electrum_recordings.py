"""Every recorded Electrum answer, from a newer server (e-x 2.0, protocol 1.4
and 1.6) and from the ElectrumX 1.20.2 of our tests (1.4.2), goes through the
parser the adapter uses for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blocksight_tui.adapters.electrum.adapter import ElectrumAdapter, _rate, fee_bands
from blocksight_tui.adapters.electrum.headers import parse_header, split_headers
from blocksight_tui.adapters.electrum.lookups import parse_balance, parse_history, parse_unspent
from tests.conftest import FIXTURES

OURS = Path(__file__).resolve().parent / "fixtures" / "electrumx"
RECORDINGS = sorted((FIXTURES / "electrum-ex2").glob("*.json")) + sorted(OURS.glob("*.json"))


def method_of(exchange: dict[str, Any]) -> str:
    request = exchange["request"]
    return request["method"] if request else exchange["response"]["method"]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_recording_parses(path: Path) -> None:
    exchange = json.loads(path.read_text())
    response = exchange["response"]
    method = method_of(exchange)
    if "error" in response:
        assert isinstance(response["error"]["message"], str)
        return
    result = response["params"] if "params" in response else response["result"]
    if method == "blockchain.headers.subscribe":
        tip = result[0] if isinstance(result, list) else result
        if "hex" in tip:
            assert parse_header(tip["hex"]).hash
    elif method == "blockchain.block.header":
        header = result["header"] if isinstance(result, dict) else result
        assert parse_header(header).previous_hash
    elif method == "blockchain.block.headers":
        headers = split_headers(result["hex"])
        assert len(headers) == result["count"]
        assert all(b.previous_hash == a.hash for a, b in zip(headers, headers[1:], strict=False))
    elif method == "blockchain.estimatefee":
        estimate = ElectrumAdapter._estimate(exchange["request"]["params"][0], "economical", result)
        assert estimate.sat_per_vb is None or estimate.sat_per_vb > 0
    elif method == "blockchain.relayfee":
        assert _rate(result) is not None
    elif method == "mempool.get_info":
        assert all(_rate(result[k]) is not None for k in ("mempoolminfee", "minrelaytxfee"))
    elif method == "mempool.get_fee_histogram":
        assert sum(b.vsize for b in fee_bands(result)) == sum(v for _, v in result)
    elif method == "blockchain.scripthash.get_balance":
        confirmed, _ = parse_balance(result)
        assert confirmed > 0
    elif method in ("blockchain.scripthash.get_history", "blockchain.scripthash.get_mempool"):
        items = parse_history(result)
        assert len(items) == len(result)
        assert [h.height for h in items] == sorted(
            (h.height for h in items), key=lambda h: (h > 0, -h)
        )
    elif method == "blockchain.scripthash.listunspent":
        assert all(u.value_sat > 0 for u in parse_unspent(result))
    elif method == "blockchain.transaction.get":
        assert isinstance(result, dict | str)
    elif method == "server.features":
        assert result["genesis_hash"] and result["protocol_min"]
    elif method == "server.version":
        assert isinstance(result, list) and len(result) == 2
    else:
        assert method in ("server.ping", "blockchain.scripthash.subscribe"), method
