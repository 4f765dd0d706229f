"""Pure conversions from Bitcoin Core RPC results to event payloads.

Bitcoin Core's answers differ across versions and forks (a field added in one
release, a string that became a list in another); each parser takes what is
there and leaves the rest None. A missing required field raises `BadResponse`,
so a malformed answer is refused with a reason instead of crashing a poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from blocksight_tui.adapters.jsonrpc import BadResponse
from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainMining,
    BlockchainNetwork,
    FeeEstimate,
    FeeMode,
    NetworkFees,
    NetworkMempool,
    TipHeight,
)

RETARGET_INTERVAL: Final = 2016
HALVING_INTERVAL: Final[dict[str, int]] = {"regtest": 150}
DEFAULT_HALVING_INTERVAL: Final = 210_000
INITIAL_SUBSIDY_SAT: Final = 50 * 100_000_000

FEE_TARGETS: Final[tuple[int, ...]] = (1, 2, 3, 6, 12, 24, 144)


def btc_per_kvb_to_sat_per_vb(value: float) -> float:
    # 1 BTC/kvB = 1e8 sat / 1000 vB.
    return round(float(value) * 100_000, 3)


def warnings_of(result: Mapping[str, Any]) -> tuple[str, ...]:
    """`warnings` is a string before Core 28 and a list after; empty means none."""
    value = result.get("warnings", ())
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(w) for w in value if w)
    return ()


def blocks_until_retarget(height: int) -> int:
    return (height // RETARGET_INTERVAL + 1) * RETARGET_INTERVAL - height


def halving_interval(chain: str) -> int:
    return HALVING_INTERVAL.get(chain, DEFAULT_HALVING_INTERVAL)


def blocks_until_halving(height: int, chain: str) -> int:
    interval = halving_interval(chain)
    return (height // interval + 1) * interval - height


def subsidy_btc(height: int, chain: str) -> float:
    halvings = height // halving_interval(chain)
    if halvings >= 64:
        return 0.0
    return (INITIAL_SUBSIDY_SAT >> halvings) / 100_000_000


def _build(model: type, what: str, **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadResponse(f"{what}: {where}: {first['msg']}") from exc


def _require(result: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(result, Mapping):
        raise BadResponse(f"{what}: result is not an object")
    return result


def _get(result: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in result:
        raise BadResponse(f"{what}: no {key!r} in the answer")
    return result[key]


def parse_tip(header: Any) -> TipHeight:
    r = _require(header, "getblockheader")
    return _build(
        TipHeight,
        "getblockheader",
        height=_get(r, "height", "getblockheader"),
        hash=_get(r, "hash", "getblockheader"),
        time=_get(r, "time", "getblockheader"),
        previous_hash=r.get("previousblockhash"),
    )


def parse_fee_estimate(result: Any, target: int, mode: FeeMode = "economical") -> FeeEstimate:
    """`feerate` is absent (with `errors`) when the node has no estimate yet."""
    r = _require(result, "estimatesmartfee")
    rate = r.get("feerate")
    return _build(
        FeeEstimate,
        "estimatesmartfee",
        target_blocks=target,
        mode=mode,
        sat_per_vb=None if rate is None else btc_per_kvb_to_sat_per_vb(rate),
    )


def parse_fees(estimates: list[FeeEstimate]) -> NetworkFees:
    return NetworkFees(estimates=tuple(estimates))


def parse_mempool(result: Any) -> NetworkMempool:
    r = _require(result, "getmempoolinfo")

    def rate(key: str) -> float | None:
        return btc_per_kvb_to_sat_per_vb(r[key]) if r.get(key) is not None else None

    return _build(
        NetworkMempool,
        "getmempoolinfo",
        tx_count=_get(r, "size", "getmempoolinfo"),
        vsize=_get(r, "bytes", "getmempoolinfo"),
        usage=_get(r, "usage", "getmempoolinfo"),
        max_usage=r.get("maxmempool"),
        min_fee_sat_per_vb=rate("mempoolminfee"),
        total_fee_btc=r.get("total_fee"),
        incremental_relay_fee_sat_per_vb=rate("incrementalrelayfee"),
        full_rbf=r.get("fullrbf"),
        loaded=r.get("loaded"),
    )


def parse_blockchain_info(result: Any) -> BlockchainInfo:
    r = _require(result, "getblockchaininfo")
    what = "getblockchaininfo"
    return _build(
        BlockchainInfo,
        what,
        chain=_get(r, "chain", what),
        blocks=_get(r, "blocks", what),
        headers=_get(r, "headers", what),
        best_block_hash=_get(r, "bestblockhash", what),
        difficulty=_get(r, "difficulty", what),
        median_time=_get(r, "mediantime", what),
        verification_progress=_get(r, "verificationprogress", what),
        initial_block_download=r.get("initialblockdownload"),
        size_on_disk=r.get("size_on_disk"),
        pruned=bool(r.get("pruned", False)),
        warnings=warnings_of(r),
    )


def parse_network_info(result: Any) -> BlockchainNetwork:
    r = _require(result, "getnetworkinfo")
    what = "getnetworkinfo"
    networks = r.get("networks") or []
    reachable = tuple(
        str(n["name"]) for n in networks if isinstance(n, Mapping) and n.get("reachable")
    )
    relay = r.get("relayfee")
    return _build(
        BlockchainNetwork,
        what,
        version=_get(r, "version", what),
        subversion=_get(r, "subversion", what),
        protocol_version=_get(r, "protocolversion", what),
        connections=_get(r, "connections", what),
        connections_in=r.get("connections_in"),
        connections_out=r.get("connections_out"),
        network_active=bool(r.get("networkactive", True)),
        relay_fee_sat_per_vb=None if relay is None else btc_per_kvb_to_sat_per_vb(relay),
        reachable_networks=reachable,
        warnings=warnings_of(r),
    )


def parse_mining_info(result: Any) -> BlockchainMining:
    r = _require(result, "getmininginfo")
    what = "getmininginfo"
    blocks = _get(r, "blocks", what)
    chain = str(r.get("chain", "main"))
    if not isinstance(blocks, int) or blocks < 0:
        raise BadResponse(f"{what}: blocks is not a height: {blocks!r}")
    return _build(
        BlockchainMining,
        what,
        chain=chain,
        blocks=blocks,
        difficulty=_get(r, "difficulty", what),
        network_hashps=r.get("networkhashps"),
        pooled_tx=r.get("pooledtx"),
        blocks_until_retarget=blocks_until_retarget(blocks),
        blocks_until_halving=blocks_until_halving(blocks, chain),
        subsidy_btc=subsidy_btc(blocks + 1, chain),
    )
