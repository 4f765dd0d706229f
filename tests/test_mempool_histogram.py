"""The mempool fee histogram: bands, the incremental parsers, the refresh cycle."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from blocksight_tui.adapters.jsonrpc import (
    BadResponse,
    Call,
    JsonRpcClient,
    NodeUnreachable,
    NodeWarmingUp,
    RpcError,
)
from blocksight_tui.adapters.mempool_histogram import (
    DEFAULT_EDGES,
    BandTotals,
    MempoolHistogram,
    bands,
)
from blocksight_tui.adapters.mempool_stream import (
    entry_size_fee,
    iter_txids,
    parse_verbose_mempool,
)
from blocksight_tui.events import FeeBand
from tests.conftest import load_fixture
from tests.node_daemon import RegtestNode, remove_node, start_node


def band(low: float, high: float | None, vsize: int, count: int) -> FeeBand:
    return FeeBand(min_sat_per_vb=low, max_sat_per_vb=high, vsize=vsize, tx_count=count)


def reference(result: dict[str, Any]) -> dict[bytes, tuple[int, int]]:
    """What a plain json.loads reading gives, for comparison."""
    return {
        bytes.fromhex(txid): (e["vsize"], round(e["fees"]["base"] * 100_000_000))
        for txid, e in result.items()
    }


def verbose_response() -> dict[str, Any]:
    return load_fixture("bitcoin-core", "getrawmempool-verbose.json")["response"]


# ------------------------------------------------------------------ bands


def test_bands_hand_checked() -> None:
    entries = [
        (100, 50),  # 0.5 sat/vB: the band from 0
        (100, 100),  # exactly 1: the band starting at 1
        (200, 399),  # 1.995
        (100, 200),  # exactly 2
        (250, 1250),  # exactly 5: the top band
        (141, 7334),  # 52.01
    ]
    assert bands(entries, (1, 2, 5)) == (
        band(0, 1, 100, 1),
        band(1, 2, 300, 2),
        band(2, 5, 100, 1),
        band(5, None, 391, 2),
    )


def test_empty_bands_are_left_out() -> None:
    assert bands([(100, 300), (50, 200)], (1, 2, 5)) == (band(2, 5, 150, 2),)
    assert bands([], (1, 2, 5)) == ()


def test_default_edges_ends() -> None:
    assert DEFAULT_EDGES[0] == 1 and DEFAULT_EDGES[-1] == 2000
    assert bands([(1000, 100)]) == (band(0, 1, 1000, 1),)  # 0.1 sat/vB
    assert bands([(100, 200_000)]) == (band(2000, None, 100, 1),)
    assert bands([(100, 199_999)]) == (band(1800, 2000, 100, 1),)


@pytest.mark.parametrize("edges", [(), (0, 1), (2, 1), (1, 1), (1, math.nan), (1, math.inf)])
def test_bad_edges_are_refused(edges: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        BandTotals(edges)


def test_removing_undoes_adding() -> None:
    totals = BandTotals((1, 2))
    totals.add(100, 150)
    totals.add(200, 100)
    totals.remove(100, 150)
    assert totals.bands() == (band(0, 1, 200, 1),)
    totals.remove(200, 100)
    assert totals.bands() == ()


# ------------------------------------------------------------------ the verbose parser


async def test_fixture_parses_like_json_loads() -> None:
    response = verbose_response()
    expected = reference(response["result"])
    assert len(expected) == 25
    for dumped in (
        json.dumps(response),
        json.dumps(response, indent=1),
        json.dumps(response, separators=(",", ":")),
    ):
        assert await parse_verbose_mempool(dumped.encode()) == expected


async def test_fixture_histogram_hand_checked() -> None:
    parsed = await parse_verbose_mempool(json.dumps(verbose_response()).encode())
    # All 25 are 141 vB; rates from 1.11 to 52.01 sat/vB.
    counts = [(1, 2, 3), (4, 5, 3), (6, 8, 1), (8, 10, 1), (12, 15, 3), (15, 20, 3),
              (20, 30, 5), (30, 40, 3), (40, 50, 2), (50, 60, 1)]
    assert bands(parsed.values()) == tuple(band(lo, hi, 141 * n, n) for lo, hi, n in counts)
    # The node's own totals for the same mempool.
    info = load_fixture("bitcoin-core", "getmempoolinfo.json")["response"]["result"]
    assert sum(v for v, _ in parsed.values()) == info["bytes"]
    assert sum(f for _, f in parsed.values()) == round(info["total_fee"] * 100_000_000)


@pytest.mark.parametrize("window", [1, 7, 64, 1000])
async def test_window_boundaries_anywhere(window: int) -> None:
    response = verbose_response()
    response["id"] = "blocks\u00efght-\u20ac"  # multi-byte characters across windows
    body = json.dumps(response, ensure_ascii=False, indent=1).encode()
    assert await parse_verbose_mempool(body, window=window) == reference(response["result"])


async def chunks_of(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        await asyncio.sleep(0)
        yield body[start : start + size]


@pytest.mark.parametrize("size", [1, 3, 4096])
async def test_chunks_as_they_arrive(size: int) -> None:
    response = verbose_response()
    response["id"] = "\u20ac" * 5
    body = json.dumps(response, ensure_ascii=False).encode()
    expected = reference(response["result"])
    assert await parse_verbose_mempool(chunks_of(body, size), window=64) == expected
    with pytest.raises(BadResponse, match="cut short"):
        await parse_verbose_mempool(chunks_of(body[:-200], size), window=64)
    with pytest.raises(BadResponse, match="UTF-8"):
        await parse_verbose_mempool(chunks_of(body[:-3] + b"\xe2\x82", size), window=64)


async def test_key_order_and_core_amount_format() -> None:
    txid = "ab" * 32
    body = (
        '{"id": 7, "error": null, "result": {"' + txid + '": {"fees": {"base": 0.00007334}, '
        '"vsize": 141, "depends": []}}}'
    ).encode()
    assert await parse_verbose_mempool(body) == {bytes.fromhex(txid): (141, 7334)}


def test_field_shapes() -> None:
    core = {"vsize": 141, "weight": 561, "fees": {"base": 0.00007334, "modified": 0.001}}
    bitcoin_sv = {"size": 191, "fee": 1.92e-06, "modifiedfee": 1.0, "depends": []}
    old_core = {"size": 300, "vsize": 141, "fee": 0.00000282}
    assert entry_size_fee(core, "a") == (141, 7334)
    assert entry_size_fee(bitcoin_sv, "b") == (191, 192)
    assert entry_size_fee(old_core, "c") == (141, 282)


async def test_bitcoin_sv_answer_parses() -> None:
    txid = "8f5fda54d182b047a2314b401447ae69525a586b5b41c0be7ecba8edc19855dd"
    body = (
        '{"result":{"' + txid + '":{"size":191,"fee":0.00000192,"modifiedfee":0.00000192,'
        '"time":1796317057,"height":101,"depends":[]}},"error":null,"id":1}'
    ).encode()
    assert await parse_verbose_mempool(body) == {bytes.fromhex(txid): (191, 192)}


async def test_empty_mempool() -> None:
    assert await parse_verbose_mempool(b'{"result":{},"error":null,"id":1}') == {}
    assert await parse_verbose_mempool(b'{"result": { } , "error":null,"id":1}\n') == {}


def entry_body(entry: str) -> bytes:
    return ('{"result":{"' + "cd" * 32 + '":' + entry + '},"error":null,"id":1}').encode()


MALFORMED = {
    "empty": b"",
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "not an object": b'["result"]',
    "no result": b'{"error":null,"id":1}',
    "null result": b'{"result":null,"error":null,"id":1}',
    "result is a list": b'{"result":["ab"],"error":null,"id":1}',
    "trailing data": b'{"result":{},"error":null,"id":1} {}',
    "trailing comma": b'{"result":{"%s":{"vsize":1,"fee":0},},"error":null}' % (b"ab" * 32),
    "key not a txid": b'{"result":{"nope":{"vsize":1,"fee":0}},"error":null}',
    "not UTF-8": b'{"result":{},"error":null,"id":"\xff\xfe"}',
    "nested too deep": b'{"result":{},"id":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "negative vsize": entry_body('{"vsize":-141,"fees":{"base":0.0001}}'),
    "zero vsize": entry_body('{"vsize":0,"fees":{"base":0.0001}}'),
    "float vsize": entry_body('{"vsize":141.5,"fees":{"base":0.0001}}'),
    "no vsize": entry_body('{"fees":{"base":0.0001}}'),
    "no fee": entry_body('{"vsize":141}'),
    "fee as text": entry_body('{"vsize":141,"fee":"0.0001"}'),
    "negative fee": entry_body('{"vsize":141,"fees":{"base":-0.0001}}'),
    "NaN fee": entry_body('{"vsize":141,"fees":{"base":NaN}}'),
    "entry not an object": entry_body("[141, 0.0001]"),
    "bad entry JSON": entry_body('{"vsize":141,"fees":{"base":0.0001},}'),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_answer_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(BadResponse) as raised:
        await parse_verbose_mempool(body)
    assert str(raised.value).strip()


async def test_every_truncation_is_a_bad_response() -> None:
    body = json.dumps(verbose_response(), separators=(",", ":")).encode()
    for cut in range(0, len(body), 3):
        with pytest.raises(BadResponse):
            await parse_verbose_mempool(body[:cut], window=512)
    with pytest.raises(BadResponse, match="cut short"):
        await parse_verbose_mempool(body[: len(body) // 2])


async def test_error_answers_raise_the_node_error() -> None:
    warmup = load_fixture("bitcoin-core", "error-warmup.json")["response"]
    with pytest.raises(NodeWarmingUp):
        await parse_verbose_mempool(json.dumps(warmup).encode())
    not_found = load_fixture("bitcoin-core", "error-tx-not-found.json")["response"]
    with pytest.raises(RpcError) as raised:
        await parse_verbose_mempool(json.dumps(not_found).encode())
    assert raised.value.code == -5


async def test_txid_list_parses() -> None:
    response = load_fixture("bitcoin-core", "getrawmempool.json")["response"]
    body = json.dumps(response, indent=1).encode()
    for window in (5, 512 * 1024):
        got = [t async for batch in iter_txids(body, window=window) for t in batch]
        assert got == [bytes.fromhex(t) for t in response["result"]]
    with pytest.raises(BadResponse):
        async for _ in iter_txids(body[:-40]):
            pass


@pytest.mark.parametrize("window", [700, 512 * 1024])
async def test_compact_txid_list(window: int) -> None:
    txids = [f"{n * 7919:064x}" for n in range(5000)]
    body = json.dumps({"result": txids, "error": None, "id": 1}, separators=(",", ":"))
    got = [t async for batch in iter_txids(body.encode(), window=window) for t in batch]
    assert got == [bytes.fromhex(t) for t in txids]
    for bad in (txids[2500][:-1] + "g", txids[2500][:-1], txids[2500] + "0", "x" * 64):
        broken = body.replace(txids[2500], bad).encode()
        with pytest.raises(BadResponse):
            async for _ in iter_txids(broken, window=window):
                pass


# ------------------------------------------------------------------ a large answer


def synthetic_body(count: int) -> tuple[bytes, dict[bytes, tuple[int, int]]]:
    """A verbose answer of `count` entries shaped like the recorded ones."""
    shape = next(iter(verbose_response()["result"].values()))
    shape = {**shape, "vsize": -1, "fees": dict.fromkeys(shape["fees"], -2)}
    template = json.dumps(shape, separators=(",", ":")).replace("-1", "%d").replace("-2", "%s")
    fee_fields = len(shape["fees"])
    parts = []
    expected = {}
    for i in range(count):
        vsize = 110 + i % 997
        fee = vsize * (1 + i % 300) // (1 + i % 7)
        txid = f"{i:064x}"
        btc = f"{fee / 1e8:.8f}"  # as Bitcoin Core writes amounts
        parts.append(f'"{txid}":' + template % (vsize, *[btc] * fee_fields))
        expected[bytes.fromhex(txid)] = (vsize, fee)
    body = '{"result":{' + ",".join(parts) + '},"error":null,"id":1}'
    return body.encode(), expected


class LagMeter:
    """The longest the loop's thread worked without letting a ticker that
    wants to run every 2 ms have its turn.

    Counted in the thread's CPU time, not the wall clock: on a shared machine
    other processes can hold the CPU for a while, which says nothing about
    how long our code keeps the loop."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.thread_time()
            await asyncio.sleep(0.002)
            self.max_lag = max(self.max_lag, time.thread_time() - start)
            self.ticks += 1

    async def __aenter__(self) -> LagMeter:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await asyncio.sleep(0.005)  # the tick that was held up gets to measure it
        self._task.cancel()


async def test_a_large_answer_never_stalls_the_loop() -> None:
    body, expected = synthetic_body(100_000)
    assert len(body) > 40_000_000
    async with LagMeter() as meter:
        parsed = await parse_verbose_mempool(body)
    assert parsed == expected
    assert meter.ticks > 20
    assert meter.max_lag < 0.1, f"the loop was held for {meter.max_lag * 1000:.0f} ms of CPU"


# ------------------------------------------------------------------ the refresh cycle


def core_entry(vsize: int, fee_sat: int) -> dict[str, Any]:
    return {"vsize": vsize, "fees": {"base": fee_sat / 1e8}, "depends": []}


class FakeNode:
    """`call`, `call_raw` and `batch` over txid → (vsize, fee in sat).

    Plain tuples, not entry dicts: 100,000 dicts would give the garbage
    collector pauses that the lag tests would blame on the code under test.
    """

    def __init__(self, entries: dict[str, tuple[int, int]]) -> None:
        self.entries = dict(entries)
        self.log: list[str] = []
        self.fetched: list[str] = []
        self.vanished: set[str] = set()
        self.entry_error: RpcError | None = None
        self.failure: Exception | None = None
        self.raw_refused = False

    def _envelope(self, result: Any) -> bytes:
        return json.dumps({"result": result, "error": None, "id": 1}).encode()

    async def call(self, method: str, *params: Any) -> Any:
        self.log.append(method)
        assert method == "getmempoolinfo"
        return {"size": len(self.entries), "bytes": 0}

    async def call_raw(self, method: str, *params: Any, max_bytes: int) -> bytes:
        self.log.append(f"{method} {params[0]}")
        if self.failure is not None:
            raise self.failure
        if params[0]:
            body = self._envelope({t: core_entry(*e) for t, e in self.entries.items()})
        else:
            body = self._envelope(list(self.entries))
        if len(body) > max_bytes or (params[0] and self.raw_refused):
            raise BadResponse(f"{method}: answer over {max_bytes} bytes refused")
        return body

    async def batch(self, calls: Sequence[Call]) -> list[Any | RpcError]:
        self.log.append(f"batch {len(calls)}")
        out: list[Any | RpcError] = []
        for call in calls:
            assert call.method == "getmempoolentry"
            (txid,) = call.params
            self.fetched.append(txid)
            if self.entry_error is not None:
                out.append(self.entry_error)
            elif txid in self.vanished or txid not in self.entries:
                out.append(RpcError(-5, "Transaction not in mempool", call.method))
            else:
                out.append(core_entry(*self.entries[txid]))
        return out

    def histogram(self) -> tuple[FeeBand, ...]:
        return bands(self.entries.values())


def entry(vsize: int, fee_sat: int) -> tuple[int, int]:
    return vsize, fee_sat


def txid(n: int) -> str:
    return f"{n:064x}"


@pytest.fixture
def node() -> FakeNode:
    return FakeNode({txid(i): entry(100 + i, 150 * (i + 1)) for i in range(10)})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_first_refresh_reads_the_whole_mempool(node: FakeNode) -> None:
    histogram = MempoolHistogram(node)
    assert await histogram.refresh() == node.histogram()
    assert node.log == ["getmempoolinfo", "getrawmempool True"]
    assert histogram.tx_count == 10
    # The caller's count spares a getmempoolinfo.
    node.log.clear()
    assert await MempoolHistogram(node).refresh(tx_count=10) == node.histogram()
    assert node.log == ["getrawmempool True"]
    with pytest.raises(BadResponse):
        await MempoolHistogram(node).refresh(tx_count=-1)


async def test_later_refreshes_fetch_only_new_transactions(node: FakeNode) -> None:
    clock = Clock()
    histogram = MempoolHistogram(node, batch_size=2, clock=clock)
    before = await histogram.refresh()
    node.log.clear()
    del node.entries[txid(0)], node.entries[txid(5)]
    for n in (20, 21, 22):
        node.entries[txid(n)] = entry(250, 250 * n)
    clock.now += 10
    after = await histogram.refresh()
    assert after == node.histogram() != before
    assert node.log == ["getrawmempool False", "batch 2", "batch 1"]
    assert sorted(node.fetched) == [txid(20), txid(21), txid(22)]
    # Nothing changed: nothing fetched.
    node.log.clear()
    assert await histogram.refresh() == after
    assert node.log == ["getrawmempool False"]
    # All gone.
    node.entries.clear()
    assert await histogram.refresh() == ()
    assert histogram.tx_count == 0


async def test_a_transaction_that_left_meanwhile_is_skipped(node: FakeNode) -> None:
    histogram = MempoolHistogram(node)
    await histogram.refresh()
    node.entries[txid(30)] = entry(100, 1000)
    node.entries[txid(31)] = entry(100, 100_000)
    node.vanished.add(txid(30))
    got = await histogram.refresh()
    del node.entries[txid(30)]
    assert got == node.histogram()
    # It is asked for again while it is listed.
    node.vanished.clear()
    node.entries[txid(30)] = entry(100, 1000)
    assert await histogram.refresh() == node.histogram()


async def test_failures_propagate_and_keep_the_last_state(node: FakeNode) -> None:
    histogram = MempoolHistogram(node)
    first = await histogram.refresh()
    node.entries[txid(40)] = entry(100, 5000)
    node.failure = NodeUnreachable("cannot connect")
    with pytest.raises(NodeUnreachable):
        await histogram.refresh()
    node.failure = None
    node.entry_error = NodeWarmingUp("Loading block index…", "getmempoolentry")
    with pytest.raises(NodeWarmingUp):
        await histogram.refresh()
    assert histogram.tx_count == 10
    assert histogram._totals.bands() == first
    node.entry_error = None
    assert await histogram.refresh() == node.histogram()


async def test_resync_reads_everything_again(node: FakeNode) -> None:
    clock = Clock()
    histogram = MempoolHistogram(node, resync_every_s=600, clock=clock)
    await histogram.refresh()
    clock.now += 599
    await histogram.refresh()
    clock.now += 1
    await histogram.refresh()
    assert node.log == [
        "getmempoolinfo", "getrawmempool True", "getrawmempool False",
        "getmempoolinfo", "getrawmempool True",
    ]


async def test_a_mempool_too_large_for_one_answer_is_read_in_batches(node: FakeNode) -> None:
    histogram = MempoolHistogram(node, max_raw_bytes=3000, batch_size=4)
    assert await histogram.refresh() == node.histogram()
    assert node.log == ["getmempoolinfo", "getrawmempool False", "batch 4", "batch 4", "batch 2"]
    # Larger than estimated: refused, then read in batches.
    node.log.clear()
    node.raw_refused = True
    histogram = MempoolHistogram(node)
    assert await histogram.refresh() == node.histogram()
    assert node.log == ["getmempoolinfo", "getrawmempool True", "getrawmempool False", "batch 10"]


async def test_a_large_mempool_refreshes_without_stalling() -> None:
    body, expected = synthetic_body(100_000)
    node = FakeNode({})
    node.entries = {t.hex(): e for t, e in expected.items()}
    histogram = MempoolHistogram(node, max_raw_bytes=len(body) * 2)
    first = await histogram.refresh()
    assert first == bands(expected.values())
    for n in range(500):
        node.entries[txid(10**9 + n)] = entry(141, 141 * (n % 50 + 1))
    for gone in list(node.entries)[:3000]:
        del node.entries[gone]
    async with LagMeter() as meter:
        assert await histogram.refresh() == node.histogram()
    assert meter.max_lag < 0.1, f"the loop was held for {meter.max_lag * 1000:.0f} ms of CPU"


# ------------------------------------------------------------------ a real node


@pytest.fixture(scope="module")
def funded_node() -> Iterator[RegtestNode]:
    node = start_node()
    try:
        node.rpc("generate", 101)
        yield node
    finally:
        remove_node(node)


@pytest.fixture
async def rpc(funded_node: RegtestNode) -> AsyncIterator[JsonRpcClient]:
    client = JsonRpcClient(funded_node.url, funded_node.user, funded_node.password)
    yield client
    await client.close()


def send(node: RegtestNode, fees_btc_per_kb: Sequence[float]) -> None:
    address = node.rpc("getnewaddress")
    for fee in fees_btc_per_kb:
        node.rpc("settxfee", fee)
        node.rpc("sendtoaddress", address, 0.5)


@pytest.mark.daemon
async def test_against_a_real_node(funded_node: RegtestNode, rpc: JsonRpcClient) -> None:
    def expected() -> tuple[FeeBand, ...]:
        raw = funded_node.rpc("getrawmempool", True)
        return bands(entry_size_fee(e, t) for t, e in raw.items())

    await asyncio.to_thread(send, funded_node, [0.00001, 0.00005, 0.0002, 0.001])
    histogram = MempoolHistogram(rpc)
    first = await histogram.refresh()
    assert first == await asyncio.to_thread(expected)
    assert sum(b.tx_count for b in first) == 4
    await asyncio.to_thread(send, funded_node, [0.00003, 0.0005])
    second = await histogram.refresh()
    assert second == await asyncio.to_thread(expected)
    assert sum(b.tx_count for b in second) == 6
    await asyncio.to_thread(funded_node.rpc, "generate", 1)
    assert await histogram.refresh() == ()
