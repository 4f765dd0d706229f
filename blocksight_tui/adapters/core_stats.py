"""Figures derived from Bitcoin Core answers: recent blocks, chain tips, sync
pace, peers, traffic and the next difficulty change.

Pure: the two meters keep their previous sample, nothing here does I/O. Like
`core_parse`, a missing optional field gives None and a malformed answer raises
`BadResponse` with a reason.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeGuard

from blocksight_tui.adapters.core_parse import RETARGET_INTERVAL, _build, _get, _require
from blocksight_tui.adapters.jsonrpc import BadResponse
from blocksight_tui.adapters.pools import identify_pool
from blocksight_tui.events import (
    BlockSummary,
    ChainTip,
    PeerSummary,
    SyncProgress,
    TrafficTotals,
)

SAT_PER_BTC: Final = 100_000_000
TARGET_SPACING_S: Final = 600
MAX_RETARGET_FACTOR: Final = 4.0
CHAIN_TIPS_SHOWN: Final = 10
USER_AGENTS_SHOWN: Final = 5
USER_AGENT_MAX_LEN: Final = 40
SYNCED_PROGRESS: Final = 0.9999


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def amount_btc(value: Any, what: str) -> float | None:
    """An amount of getblockstats in BTC.

    Bitcoin Core (since 0.17) writes `totalfee` and `subsidy` as integers of
    satoshis; builds that kept the older code (Bitcoin SV) write BTC with eight
    decimals (`0.00000000`). JSON keeps the difference: an integer is
    satoshis, a number with a decimal point is BTC.
    """
    if value is None:
        return None
    if not _is_number(value):
        raise BadResponse(f"{what}: not an amount: {value!r}")
    if isinstance(value, int):
        return value / SAT_PER_BTC
    return float(value)


# ---------------------------------------------------------------- blocks


def _check_same_block(part: Mapping[str, Any], key: str, block_hash: str, what: str) -> None:
    # Answers fetched one after another can straddle a reorg.
    other = part.get(key)
    if other is not None and other != block_hash:
        raise BadResponse(f"{what}: answer is for block {other}, not {block_hash}")


def _count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadResponse(f"{what}: not a count: {value!r}")
    return value


def _required_count(result: Mapping[str, Any], key: str, what: str) -> int:
    value = _count(_get(result, key, what), f"{what} {key}")
    if value is None:
        raise BadResponse(f"{what}: {key} is null")
    return value


def _percentiles(value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 5 or not all(_is_number(v) for v in value):
        raise BadResponse(f"getblockstats: feerate_percentiles is not five rates: {value!r}")
    # Already sat/vB, unlike the BTC/kvB of the fee estimates.
    return tuple(float(v) for v in value)


def block_summary(
    header: Any,
    stats: Any = None,
    block: Any = None,
    coinbase_tx: Any = None,
) -> BlockSummary:
    """One block from getblockheader (verbose, required), getblockstats,
    getblock verbosity 1 and the verbose coinbase transaction (all optional).

    Size and weight come from getblock only: getblockstats' `total_size` and
    `total_weight` leave the coinbase out. Without the coinbase transaction the
    pool is read from getblock's `coinbase_tx` (Core 29 and later), which has
    the script but no payout address.
    """
    h = _require(header, "getblockheader")
    block_hash = _get(h, "hash", "getblockheader")
    s = _require(stats, "getblockstats") if stats is not None else {}
    b = _require(block, "getblock") if block is not None else {}
    _check_same_block(s, "blockhash", block_hash, "getblockstats")
    _check_same_block(b, "hash", block_hash, "getblock")
    if coinbase_tx is not None:
        _check_same_block(_require(coinbase_tx, "coinbase"), "blockhash", block_hash, "coinbase")
    else:
        coinbase_tx = b.get("coinbase_tx")

    tx_count = _count(s.get("txs"), "getblockstats")
    for source, key in ((b, "nTx"), (b, "num_tx"), (h, "nTx")):
        if tx_count is None:
            tx_count = _count(source.get(key), key)
    if tx_count is None and isinstance(b.get("tx"), list):
        tx_count = len(b["tx"])

    pool, tag = identify_pool(coinbase_tx)
    return _build(
        BlockSummary,
        "block",
        height=_get(h, "height", "getblockheader"),
        hash=block_hash,
        time=_get(h, "time", "getblockheader"),
        tx_count=tx_count,
        size=_count(b.get("size"), "getblock size"),
        weight=_count(b.get("weight"), "getblock weight"),
        total_fee_btc=amount_btc(s.get("totalfee"), "getblockstats totalfee"),
        fee_rate_percentiles=_percentiles(s.get("feerate_percentiles")),
        subsidy_btc=amount_btc(s.get("subsidy"), "getblockstats subsidy"),
        pool=pool,
        coinbase_tag=tag,
    )


def mean_block_interval(blocks: Sequence[BlockSummary]) -> float | None:
    """Seconds per block between the lowest and highest of `blocks` (any order,
    gaps allowed); None with fewer than two heights or a negative span, which
    header times allow."""
    if len(blocks) < 2:
        return None
    low = min(blocks, key=lambda b: b.height)
    high = max(blocks, key=lambda b: b.height)
    if high.height == low.height or high.time < low.time:
        return None
    return (high.time - low.time) / (high.height - low.height)


# ---------------------------------------------------------------- retarget


def retarget_start_height(height: int) -> int:
    """First block of the difficulty period `height` belongs to."""
    return height - height % RETARGET_INTERVAL


def expected_difficulty_change_pct(
    height: int, tip_time: int | float, retarget_start_time: int | float
) -> float | None:
    """Difficulty change at the next retarget, in percent, if the rest of the
    period keeps the pace of its blocks so far.

    The pace is (tip time - time of the period's first block) over the blocks
    since it. Core measures the period over 2015 intervals against 2016 × 600
    s; that 0.05 % is left out, as block explorers do. Clamped like consensus
    to ×4 and ÷4. None at the period's first block, when nothing is measured
    yet. Regtest never retargets: do not show this there.
    """
    mined = height % RETARGET_INTERVAL
    if height < 0 or mined == 0:
        return None
    elapsed = tip_time - retarget_start_time
    # A tip older than the period's start (header times may go back) is
    # the fastest pace there is.
    ratio = TARGET_SPACING_S * mined / elapsed if elapsed > 0 else MAX_RETARGET_FACTOR
    ratio = min(MAX_RETARGET_FACTOR, max(1 / MAX_RETARGET_FACTOR, ratio))
    return (ratio - 1) * 100


# ---------------------------------------------------------------- chain tips


def chain_tips(result: Any, limit: int = CHAIN_TIPS_SHOWN) -> tuple[ChainTip, ...]:
    """getchaintips, active tip first, then the highest; a long-running mainnet
    node knows hundreds of old stale tips, so only `limit` are kept."""
    if not isinstance(result, list):
        raise BadResponse("getchaintips: result is not a list")
    tips = []
    for raw in result:
        t = _require(raw, "getchaintips")
        tips.append(
            _build(
                ChainTip,
                "getchaintips",
                height=_get(t, "height", "getchaintips"),
                hash=_get(t, "hash", "getchaintips"),
                branch_length=_get(t, "branchlen", "getchaintips"),
                status=_get(t, "status", "getchaintips"),
            )
        )
    tips.sort(key=lambda tip: (tip.status != "active", -tip.height))
    return tuple(tips[:limit])


# ---------------------------------------------------------------- sync


def in_initial_download(info: Mapping[str, Any]) -> bool:
    """`initialblockdownload` when the node says it; builds without the field
    count as synced once blocks reach headers and the progress is ~1."""
    flag = info.get("initialblockdownload")
    if isinstance(flag, bool):
        return flag
    progress = info.get("verificationprogress")
    synced = _is_number(progress) and progress > SYNCED_PROGRESS
    return not (synced and info.get("blocks") == info.get("headers"))


class SyncMeter:
    """Initial-download pace from successive getblockchaininfo answers."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None

    def reset(self) -> None:
        self._last = None

    def update(self, result: Any, now: float) -> SyncProgress | None:
        """`now` is a monotonic clock in seconds, taken when `result` arrived.
        None when the node is not in initial download."""
        what = "getblockchaininfo"
        info = _require(result, what)
        blocks = _required_count(info, "blocks", what)
        headers = _required_count(info, "headers", what)
        progress = _get(info, "verificationprogress", what)
        if not _is_number(progress):
            raise BadResponse(f"{what}: verificationprogress is not a number: {progress!r}")
        previous, self._last = self._last, (now, blocks)
        if not in_initial_download(info):
            return None
        rate: float | None = None
        if previous is not None:
            then, blocks_then = previous
            if now > then and blocks >= blocks_then:
                rate = (blocks - blocks_then) / (now - then)
        behind = max(0, headers - blocks)
        return _build(
            SyncProgress,
            what,
            progress=min(1.0, float(progress)),
            blocks_behind=behind,
            blocks_per_second=rate,
            eta_seconds=behind / rate if rate else None,
        )


# ---------------------------------------------------------------- peers

_UA_COMMENT: Final = re.compile(r"\([^)]*\)")
_UA_UNPRINTABLE: Final = re.compile(r"[^\x20-\x7e]")


def normalise_user_agent(subver: str) -> str:
    """`/Satoshi:27.0.0(comment)/` → `/Satoshi:27.0.0/`: BIP14 comments are
    free text, so they split one client into many. Peers choose this string,
    so it is cut to printable ASCII of a bounded length."""
    text = _UA_UNPRINTABLE.sub("", _UA_COMMENT.sub("", subver)).strip()
    return text[:USER_AGENT_MAX_LEN]


def peer_summary(result: Any, top: int = USER_AGENTS_SHOWN) -> PeerSummary:
    """getpeerinfo in a few numbers. `connection_type` (Core 0.21) and
    `transport_protocol_type` (Core 26) are counted when present; with no
    peer reporting the transport, `v2_transport` is None, not 0."""
    what = "getpeerinfo"
    if not isinstance(result, list):
        raise BadResponse(f"{what}: result is not a list")
    peers = [_require(p, what) for p in result]
    inbound = sum(1 for p in peers if _get(p, "inbound", what) is True)
    types = Counter(
        str(p["connection_type"]) for p in peers if isinstance(p.get("connection_type"), str)
    )
    transports = [p["transport_protocol_type"] for p in peers if "transport_protocol_type" in p]
    agents = Counter(
        ua
        for p in peers
        if isinstance(p.get("subver"), str) and (ua := normalise_user_agent(p["subver"]))
    )
    pings = [
        p["pingtime"] * 1000 for p in peers if _is_number(p.get("pingtime")) and p["pingtime"] >= 0
    ]
    ranked = sorted(agents.items(), key=lambda item: (-item[1], item[0]))[:top]
    return _build(
        PeerSummary,
        what,
        inbound=inbound,
        outbound=len(peers) - inbound,
        by_connection_type=dict(types),
        v2_transport=sum(1 for t in transports if t == "v2") if transports else None,
        top_user_agents=tuple(ranked),
        ping_ms_median=round(statistics.median(pings), 3) if pings else None,
        ping_ms_min=round(min(pings), 3) if pings else None,
    )


# ---------------------------------------------------------------- traffic


class TrafficMeter:
    """Byte totals and rates from successive getnettotals answers.

    The interval is the node's own `timemillis`, so a slow answer does not
    skew the rate; `now` (seconds) stands in if a build lacks it. Counters
    that go down mean the node restarted: rates are unknown until the next
    sample rather than negative.
    """

    def __init__(self) -> None:
        self._last: tuple[float | None, int, int] | None = None

    def reset(self) -> None:
        self._last = None

    def update(self, result: Any, now: float | None = None) -> TrafficTotals:
        what = "getnettotals"
        r = _require(result, what)
        received = _required_count(r, "totalbytesrecv", what)
        sent = _required_count(r, "totalbytessent", what)
        millis = r.get("timemillis")
        if millis is not None and not _is_number(millis):
            raise BadResponse(f"{what}: timemillis is not a number: {millis!r}")
        at = millis / 1000 if millis is not None else now
        previous, self._last = self._last, (at, received, sent)

        recv_rate = send_rate = None
        if previous is not None:
            then, received_then, sent_then = previous
            if (
                at is not None
                and then is not None
                and at > then
                and received >= received_then
                and sent >= sent_then
            ):
                recv_rate = (received - received_then) / (at - then)
                send_rate = (sent - sent_then) / (at - then)
        return _build(
            TrafficTotals,
            what,
            bytes_received=received,
            bytes_sent=sent,
            receive_rate_bps=recv_rate,
            send_rate_bps=send_rate,
        )
