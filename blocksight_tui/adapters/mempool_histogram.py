"""The mempool's fee-rate histogram: vsize and transaction count per sat/vB band.

Reading the whole mempool each poll would cost the node and this process
about a second of work and 50 MB per 100,000 transactions. So the full read
happens once (and again after `resync_every_s`, as a safety net); each later
poll fetches only the txid list and the entries of the transactions that are
new since the last one. Per transaction only its txid, vsize and fee are kept
(about 150 bytes). Every step hands the event loop back within milliseconds;
bench/RESULTS.md has the figures.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import islice, pairwise
from typing import Any, Final, Protocol

from blocksight_tui.adapters.jsonrpc import BadResponse, Call, RpcError
from blocksight_tui.adapters.mempool_stream import (
    entry_size_fee,
    iter_txids,
    iter_verbose_mempool,
)
from blocksight_tui.events import FeeBand

DEFAULT_EDGES: Final[tuple[float, ...]] = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100,
    125, 150, 175, 200, 250, 300, 350, 400, 500, 600, 700, 800, 900,
    1000, 1200, 1400, 1600, 1800, 2000,
)  # fmt: skip
"""Lower edges in sat/vB, as mempool.space draws them; a band from 0 comes first."""

DEFAULT_MAX_RAW_BYTES: Final = 32 * 1024 * 1024
DEFAULT_RESYNC_S: Final = 3600.0
BATCH_SIZE: Final = 100
"""getmempoolentry calls per request. 100 entries parse into fewer live objects
than trigger a garbage collection; at 500, each batch did, and the collector
then walked the whole app several times per full read (about 25 ms each)."""
VERBOSE_BYTES_PER_TX: Final = 600
"""A verbose entry is about 500 bytes; more with long depends/spentby lists."""
TX_NOT_IN_MEMPOOL: Final = -5
_SLICE: Final = 10_000
_VSIZE_BITS: Final = 32
_VSIZE_MASK: Final = (1 << _VSIZE_BITS) - 1


class MempoolClient(Protocol):
    """What the histogram needs of `JsonRpcClient`."""

    async def call(self, method: str, *params: Any) -> Any: ...

    async def call_raw(self, method: str, *params: Any, max_bytes: int) -> bytes: ...

    async def batch(self, calls: Sequence[Call]) -> list[Any | RpcError]: ...


def check_edges(edges: Iterable[float]) -> tuple[float, ...]:
    out = tuple(float(e) for e in edges)
    if not out or any(not math.isfinite(e) or e <= 0 for e in out):
        raise ValueError("fee band edges must be finite and above 0")
    if any(b <= a for a, b in pairwise(out)):
        raise ValueError("fee band edges must increase")
    return out


class BandTotals:
    """vsize and transaction count per band, one transaction at a time.

    Band 0 runs from 0 to the first edge, band i from edge i-1 to edge i, the
    last one has no top. A rate exactly on an edge belongs to the band that
    starts there. For whole-number edges `fee / vsize` compares exactly: a
    rate below an edge is below it by at least 1/vsize, far above a rounding.
    """

    def __init__(self, edges: Sequence[float] = DEFAULT_EDGES) -> None:
        self.edges = check_edges(edges)
        self.vsize = [0] * (len(self.edges) + 1)
        self.count = [0] * (len(self.edges) + 1)

    def add(self, vsize: int, fee_sat: int, sign: int = 1) -> None:
        if vsize <= 0:
            raise ValueError(f"vsize must be above 0, not {vsize}")
        band = bisect_right(self.edges, fee_sat / vsize)
        self.vsize[band] += sign * vsize
        self.count[band] += sign

    def remove(self, vsize: int, fee_sat: int) -> None:
        self.add(vsize, fee_sat, -1)

    def merge(self, other: BandTotals) -> None:
        if other.edges != self.edges:
            raise ValueError("cannot merge totals over other bands")
        self.vsize = [a + b for a, b in zip(self.vsize, other.vsize, strict=True)]
        self.count = [a + b for a, b in zip(self.count, other.count, strict=True)]

    def bands(self) -> tuple[FeeBand, ...]:
        """Lowest band first; empty bands are left out, so the result stays
        small (an empty mempool gives an empty tuple)."""
        lows = (0.0, *self.edges)
        highs = (*self.edges, None)
        return tuple(
            FeeBand(min_sat_per_vb=lows[i], max_sat_per_vb=highs[i], vsize=v, tx_count=n)
            for i, (v, n) in enumerate(zip(self.vsize, self.count, strict=True))
            if n
        )


def bands(
    entries: Iterable[tuple[int, int]], edges: Sequence[float] = DEFAULT_EDGES
) -> tuple[FeeBand, ...]:
    """The histogram of (vsize, fee in sat) pairs; empty bands are omitted."""
    totals = BandTotals(edges)
    for vsize, fee_sat in entries:
        totals.add(vsize, fee_sat)
    return totals.bands()


def _pack(vsize: int, fee_sat: int) -> int:
    # One int per transaction instead of a tuple of two: less memory, and
    # nothing for the garbage collector to track (100,000 tracked tuples
    # make each full collection of the whole app tens of milliseconds longer).
    return fee_sat << _VSIZE_BITS | vsize


def _unpack(packed: int) -> tuple[int, int]:
    return packed & _VSIZE_MASK, packed >> _VSIZE_BITS


class MempoolHistogram:
    """The stateful source the Core adapter asks for a histogram each mempool poll.

    Failures of the client (`RpcFailure`) reach the caller unchanged, and
    leave the state as it was: the next refresh starts from the last good one.
    """

    def __init__(
        self,
        client: MempoolClient,
        edges: Sequence[float] = DEFAULT_EDGES,
        *,
        max_raw_bytes: int = DEFAULT_MAX_RAW_BYTES,
        resync_every_s: float = DEFAULT_RESYNC_S,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._edges = check_edges(edges)
        self._max_raw_bytes = max_raw_bytes
        self._resync_every_s = resync_every_s
        self._batch_size = batch_size
        self._clock = clock
        self._lock = asyncio.Lock()
        self._txs: dict[bytes, int] = {}
        self._totals = BandTotals(self._edges)
        self._loaded_at: float | None = None

    @property
    def tx_count(self) -> int:
        return len(self._txs)

    async def refresh(self, tx_count: int | None = None) -> tuple[FeeBand, ...]:
        """The histogram now. `tx_count` is getmempoolinfo's `size` if the
        caller has it; a full read needs it, and asks for it otherwise."""
        async with self._lock:
            due = self._loaded_at is None or (
                self._clock() - self._loaded_at >= self._resync_every_s
            )
            if due:
                await self._load(tx_count)
            else:
                await self._update()
            return self._totals.bands()

    async def _load(self, size: int | None) -> None:
        """Read the whole mempool: in one verbose answer when it fits in
        `max_raw_bytes`, else entry by entry in batches."""
        if size is None:
            info = await self._client.call("getmempoolinfo")
            size = info.get("size") if isinstance(info, dict) else None
        if type(size) is not int or size < 0:
            raise BadResponse("getmempoolinfo: answer has no transaction count")
        txs: dict[bytes, int] = {}
        totals = BandTotals(self._edges)
        body: bytes | None = None
        if size * VERBOSE_BYTES_PER_TX <= self._max_raw_bytes:
            try:
                body = await self._client.call_raw(
                    "getrawmempool", True, max_bytes=self._max_raw_bytes
                )
            except BadResponse:
                # Larger than the estimate and the limit: fall back to batches.
                body = None
        if body is not None:
            async for batch in iter_verbose_mempool(body):
                for txid, vsize, fee in batch:
                    _add(txs, totals, txid, vsize, fee)
        else:
            fresh, listed = await self._txids(txs)
            await _release(listed)
            await self._fetch(fresh, txs, totals)
        self._txs, self._totals = txs, totals
        self._loaded_at = self._clock()

    async def _update(self) -> None:
        fresh, listed = await self._txids(self._txs)
        # Each listed txid is stored or fresh; so this many stored ones left.
        left = len(self._txs) + len(fresh) - sum(map(len, listed))
        gone = await _gone(self._txs, listed) if left else []
        await _release(listed)
        added: dict[bytes, int] = {}
        added_totals = BandTotals(self._edges)
        await self._fetch(fresh, added, added_totals)
        # Applied only once everything was fetched. Should it be cut short
        # anyway, the next refresh compares the node's list with what is
        # stored, and mends it.
        for start in range(0, len(gone), _SLICE):
            for txid in gone[start : start + _SLICE]:
                self._totals.remove(*_unpack(self._txs.pop(txid)))
            await asyncio.sleep(0)
        self._txs.update(added)
        self._totals.merge(added_totals)

    async def _txids(self, known: dict[bytes, int]) -> tuple[list[bytes], list[set[bytes]]]:
        """The txids in the mempool now that are not in `known`, and all of
        them, in the sets they were parsed in."""
        body = await self._client.call_raw("getrawmempool", False, max_bytes=self._max_raw_bytes)
        fresh: list[bytes] = []
        listed: list[set[bytes]] = []
        async for batch in iter_txids(body):
            listed.append(set(batch))
            fresh += listed[-1].difference(known)
        return fresh, listed

    async def _fetch(self, txids: list[bytes], txs: dict[bytes, int], totals: BandTotals) -> None:
        """Add the entry of each; a tx that left meanwhile is skipped."""
        for start in range(0, len(txids), self._batch_size):
            chunk = [t.hex() for t in txids[start : start + self._batch_size]]
            results = await self._client.batch([Call("getmempoolentry", (t,)) for t in chunk])
            if len(results) != len(chunk):
                raise BadResponse("getmempoolentry: batch answer has the wrong length")
            for txid, result in zip(chunk, results, strict=True):
                if isinstance(result, RpcError):
                    if result.code == TX_NOT_IN_MEMPOOL:
                        continue
                    raise result
                vsize, fee = entry_size_fee(result, txid)
                _add(txs, totals, bytes.fromhex(txid), vsize, fee)


# Whole-mempool set work is done in C, a slice per step: one pass over 300,000
# txids, or freeing them at once, held the loop for 15 to 25 ms.


async def _gone(stored: dict[bytes, int], listed: list[set[bytes]]) -> list[bytes]:
    """The stored txids that are no longer listed."""
    current: set[bytes] = set()
    for part in listed:
        current |= part
        await asyncio.sleep(0)
    gone: list[bytes] = []
    keys = iter(stored)
    while chunk := list(islice(keys, _SLICE)):
        gone += set(chunk).difference(current)
        await asyncio.sleep(0)
    return gone  # `current` only shares the txids: dropping it frees none


async def _release(parts: list[set[bytes]]) -> None:
    while parts:
        parts.pop()
        await asyncio.sleep(0)


def _add(txs: dict[bytes, int], totals: BandTotals, txid: bytes, vsize: int, fee: int) -> None:
    if txid not in txs:
        txs[txid] = _pack(vsize, fee)
        totals.add(vsize, fee)
