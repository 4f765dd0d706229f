"""The mempool fee histogram on a mainnet-sized mempool, side by side.

A stand-in node (a separate process, so its work is not counted) serves a
synthetic mempool of `--count` transactions shaped like Bitcoin Core 31's
entries. Each variant then runs in a fresh process of its own, through the
real JsonRpcClient over HTTP:

  loads         call_raw(getrawmempool true), json.loads, a loop over the dict
  stream        call_raw(getrawmempool true), the incremental parser
  stream-chunks the parser fed the HTTP chunks as they arrive (plain aiohttp:
                JsonRpcClient has no such call yet), so the body is never whole
  full-verbose  MempoolHistogram's first refresh, verbose answer allowed
  full-batched  the same with the default max_raw_bytes: txids, then batches
  delta         a later refresh after --churn txs left and --churn arrived
  idle          a later refresh with nothing changed (the steady state)

Columns: wall and CPU time; `step`, the longest single step the event loop
ran; `lag`, the worst lateness of a 1 ms ticker (what a keypress would wait);
peak RSS and its growth during the variant; from a second run under
tracemalloc (which slows it down), the Python heap's peak and what is still
held afterwards (the histogram's state between polls). A median of --repeat
runs, each in a fresh process.

    python -m bench.mempool_histogram [--count 100000] [--churn 500] [--repeat 3]
                                      [--only VARIANT ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from collections.abc import AsyncIterable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from blocksight_tui.adapters.jsonrpc import JsonRpcClient
from blocksight_tui.adapters.mempool_histogram import BandTotals, MempoolHistogram
from blocksight_tui.adapters.mempool_stream import iter_verbose_mempool
from blocksight_tui.events import FeeBand
from tests.node_daemon import free_port

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/bitcoin-core/getrawmempool-verbose.json"
)
VARIANTS = ("loads", "stream", "stream-chunks", "full-verbose", "full-batched", "delta", "idle")
RAW_LIMIT = 256 * 1024 * 1024


# ------------------------------------------------------------------ the stand-in node


def synthetic_mempool(count: int, seed: int) -> dict[str, dict[str, Any]]:
    """Entries with Core's fields; vsizes and fee rates spread like mainnet's."""
    shape = next(iter(json.loads(FIXTURE.read_text())["response"]["result"].values()))
    rnd = random.Random(seed)
    out: dict[str, dict[str, Any]] = {}
    for _ in range(count):
        txid = hashlib.sha256(rnd.randbytes(32)).hexdigest()
        vsize = int(rnd.choice((110, 141, 153, 190, 222)) * rnd.lognormvariate(0, 0.6)) + 60
        rate = min(2500.0, 0.1 + rnd.lognormvariate(1.3, 1.2))
        fee = round(vsize * rate)
        depends = [hashlib.sha256(txid.encode()).hexdigest()] if rnd.random() < 0.15 else []
        out[txid] = {
            **shape,
            "vsize": vsize, "weight": vsize * 4 - 3, "descendantsize": vsize,
            "ancestorsize": vsize, "chunkweight": vsize * 4 - 3,
            "wtxid": hashlib.sha256(txid.encode() + b"w").hexdigest(),
            "fees": dict.fromkeys(shape["fees"], fee),
            "depends": depends,
        }
    return out


def core_json(value: Any) -> str:
    """Compact JSON with amounts as Core writes them (0.00001234, not 1.234e-05)."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace('"@', "").replace('@"', "")


def entry_json(entry: dict[str, Any]) -> str:
    fees = {k: f"@{v / 1e8:.8f}@" for k, v in entry["fees"].items()}
    return core_json({**entry, "fees": fees})


class StandIn:
    """Generation 0 is the mempool; generation 1 lost `churn` and gained `churn`."""

    def __init__(self, count: int, churn: int) -> None:
        base = synthetic_mempool(count, seed=1)
        self.gens = [base, dict(list(base.items())[churn:])]
        self.gens[1].update(synthetic_mempool(churn, seed=2))
        self.gen = 0
        self.verbose = [self._verbose(g) for g in self.gens]
        self.txids = [self._envelope(core_json(list(g))) for g in self.gens]

    @staticmethod
    def _envelope(result: str) -> bytes:
        return ('{"result":' + result + ',"error":null,"id":1}\n').encode()

    def _verbose(self, mempool: dict[str, dict[str, Any]]) -> bytes:
        parts = [f'"{t}":{entry_json(e)}' for t, e in mempool.items()]
        return self._envelope("{" + ",".join(parts) + "}")

    def answer(self, request: dict[str, Any]) -> str:
        method, params = request.get("method"), request.get("params") or []
        mempool = self.gens[self.gen]
        if method == "getmempoolinfo":
            result: Any = {"size": len(mempool), "bytes": sum(e["vsize"] for e in mempool.values())}
        elif method == "getmempoolentry" and params[0] in mempool:
            return ('{"result":' + entry_json(mempool[params[0]])
                    + f',"error":null,"id":{json.dumps(request["id"])}}}')
        elif method == "getmempoolentry":
            return json.dumps({"result": None, "id": request["id"],
                               "error": {"code": -5, "message": "Transaction not in mempool"}})
        else:
            result = None
        return json.dumps({"result": result, "error": None, "id": request["id"]})

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if isinstance(body, list):
            text = "[" + ",".join(self.answer(r) for r in body) + "]"
            return web.Response(body=text.encode(), content_type="application/json")
        if body.get("method") == "bench-generation":
            self.gen = body["params"][0]
            return web.json_response({"result": self.gen, "error": None, "id": 0})
        if body.get("method") == "getrawmempool":
            raw = self.verbose if body.get("params") and body["params"][0] else self.txids
            return web.Response(body=raw[self.gen], content_type="application/json")
        return web.Response(body=self.answer(body).encode(), content_type="application/json")


def serve(port: int, count: int, churn: int) -> None:
    stand_in = StandIn(count, churn)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/", stand_in.handle)
    print(f"ready {len(stand_in.verbose[0])}", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def set_generation(url: str, gen: int) -> None:
    body = json.dumps({"method": "bench-generation", "params": [gen], "id": 0}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as r:
        r.read()


# ------------------------------------------------------------------ one variant


class StepTimer:
    """The longest single step the event loop ran (one callback or task step)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._run = asyncio.events.Handle._run

    def __enter__(self) -> StepTimer:
        original = self._run

        def timed(handle: asyncio.events.Handle) -> None:
            start = time.perf_counter()
            original(handle)
            self.longest = max(self.longest, time.perf_counter() - start)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]


class Ticker:
    """The worst lateness of a task that wants to run every millisecond: what
    a keypress would wait. Up to about two steps, since a timer that comes due
    during one step can still have another queued before it."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - start - 0.001)

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        await asyncio.sleep(0.005)
        assert self._task is not None
        self._task.cancel()
        return self.worst


async def histogram_of(source: bytes | AsyncIterable[bytes]) -> tuple[FeeBand, ...]:
    totals = BandTotals()
    async for batch in iter_verbose_mempool(source):
        for _, vsize, fee in batch:
            totals.add(vsize, fee)
    return totals.bands()


async def run_variant(variant: str, url: str, trace: bool) -> dict[str, Any]:
    client = JsonRpcClient(url, None, None, timeout=300)
    session = aiohttp.ClientSession()
    histogram = MempoolHistogram(
        client, max_raw_bytes=RAW_LIMIT if variant != "full-batched" else 32 * 1024 * 1024
    )
    # Connections open and code warm, as in a running app.
    await client.call("getmempoolinfo")
    info = {"jsonrpc": "1.0", "id": 1, "method": "getmempoolinfo", "params": []}
    async with session.post(url, json=info) as answer:
        await answer.read()
    if variant in ("delta", "idle"):
        await histogram.refresh()
        if variant == "delta":
            await asyncio.to_thread(set_generation, url, 1)
    ticker = Ticker()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    ticker.start()
    steps = StepTimer().__enter__()
    wall, cpu = time.perf_counter(), time.process_time()
    if variant == "loads":
        raw = await client.call_raw("getrawmempool", True, max_bytes=RAW_LIMIT)
        totals = BandTotals()
        for entry in json.loads(raw)["result"].values():
            totals.add(entry["vsize"], round(entry["fees"]["base"] * 100_000_000))
        bands = totals.bands()
        del raw
    elif variant == "stream":
        raw = await client.call_raw("getrawmempool", True, max_bytes=RAW_LIMIT)
        bands = await histogram_of(raw)
        del raw
    elif variant == "stream-chunks":
        verbose = {"jsonrpc": "1.0", "id": 2, "method": "getrawmempool", "params": [True]}
        async with session.post(url, json=verbose) as answer:
            bands = await histogram_of(answer.content.iter_chunked(64 * 1024))
    else:
        bands = await histogram.refresh()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    steps.__exit__()
    worst = await ticker.stop()
    heap_kept, heap_peak = tracemalloc.get_traced_memory() if trace else (0, 0)
    await client.close()
    await session.close()
    if variant == "delta":
        await asyncio.to_thread(set_generation, url, 0)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "variant": variant, "wall_s": wall, "cpu_s": cpu, "longest_step_s": steps.longest,
        "worst_lag_s": worst,
        "rss_peak_mb": rss_peak / 1024, "rss_growth_mb": (rss_peak - rss_before) / 1024,
        "heap_peak_mb": heap_peak / 1e6, "heap_kept_mb": heap_kept / 1e6,
        "txs": sum(b.tx_count for b in bands),
    }


# ------------------------------------------------------------------ the driver


def in_subprocess(*args: str) -> str:
    cmd = [sys.executable, "-m", "bench.mempool_histogram", *args]
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(cmd, cwd=root, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--churn", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--only", nargs="+", choices=VARIANTS, default=VARIANTS,
                        help="run these variants only")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.count, args.churn)
        return
    if args.variant:
        print(json.dumps(asyncio.run(run_variant(args.variant, args.url, args.trace))))
        return

    port = free_port()
    root = Path(__file__).resolve().parents[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.mempool_histogram", "--serve", str(port),
         "--count", str(args.count), "--churn", str(args.churn)],
        cwd=root, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        time.sleep(0.5)
        print(f"{args.count} transactions, verbose answer {int(ready[1]) / 1e6:.1f} MB, "
              f"churn {args.churn}; median of {args.repeat} runs (heap: one traced run)")
        print(f"{'variant':14} {'wall s':>7} {'cpu s':>7} {'step ms':>8} {'lag ms':>7} "
              f"{'RSS peak MB':>12} {'RSS growth MB':>14} {'heap peak MB':>13} "
              f"{'heap kept MB':>13} {'txs':>7}")
        url = f"http://127.0.0.1:{port}/"
        for variant in args.only:
            runs = [json.loads(in_subprocess("--variant", variant, "--url", url))
                    for _ in range(args.repeat)]
            traced = json.loads(in_subprocess("--variant", variant, "--url", url, "--trace"))

            def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
                return sorted(r[key] for r in runs)[len(runs) // 2]

            print(f"{variant:14} {med('wall_s'):7.3f} {med('cpu_s'):7.3f} "
                  f"{med('longest_step_s') * 1000:8.1f} {med('worst_lag_s') * 1000:7.1f} "
                  f"{med('rss_peak_mb'):12.0f} "
                  f"{med('rss_growth_mb'):14.0f} {traced['heap_peak_mb']:13.1f} "
                  f"{traced['heap_kept_mb']:13.1f} {runs[0]['txs']:7d}", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
