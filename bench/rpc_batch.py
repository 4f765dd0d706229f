"""One JSON-RPC batch against the same calls one by one, on a real regtest node.

The node is the tests' own (`tests/node_daemon.py`: Bitcoin SV's bitcoind,
built from Bitcoin Core's code, fetched into `.cache/` on first use). Two
workloads, each through the real JsonRpcClient with its kept-alive session:

  poll   the 7 calls of a Core adapter round: getblockcount, getbestblockhash,
         getmempoolinfo, getblockchaininfo, getnetworkinfo, getmininginfo,
         getchaintips
  hashes 20 getblockhash calls (heights 0-19)

and three ways to send them: `batch` (one request), `serial` (one awaited
after the other), `gather` (all at once, as far as the client's 4 slots allow).
Blocks of --rounds rounds per way, cycled --cycles times so drift in a noisy
machine hits each way alike. Reported per round: median and p90 latency, the
share of rounds over 30 ms (a node whose HTTP server leaves Nagle's algorithm
on stalls a multi-segment answer for the client's 40 ms delayed ACK; Bitcoin
Core sets TCP_NODELAY since v28), this process's CPU, and the node's CPU
(from /proc, in 10 ms ticks, over all rounds).

    python -m bench.rpc_batch [--rounds 200] [--cycles 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from blocksight_tui.adapters.jsonrpc import Call, JsonRpcClient
from tests.node_daemon import RegtestNode, make_node, remove_node

POLL = [
    Call("getblockcount"), Call("getbestblockhash"), Call("getmempoolinfo"),
    Call("getblockchaininfo"), Call("getnetworkinfo"), Call("getmininginfo"),
    Call("getchaintips"),
]
HASHES = [Call("getblockhash", (height,)) for height in range(20)]
WORKLOADS = {"poll": POLL, "hashes": HASHES}


def node_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ways(client: JsonRpcClient) -> dict[str, Callable[[list[Call]], Awaitable[object]]]:
    async def batch(calls: list[Call]) -> object:
        results = await client.batch(calls)
        assert not any(isinstance(r, Exception) for r in results), results
        return results

    async def serial(calls: list[Call]) -> object:
        return [await client.call(c.method, *c.params) for c in calls]

    async def gather(calls: list[Call]) -> object:
        return await asyncio.gather(*(client.call(c.method, *c.params) for c in calls))

    return {"batch": batch, "serial": serial, "gather": gather}


async def measure(node: RegtestNode, rounds: int, cycles: int) -> None:
    assert node.process is not None
    client = JsonRpcClient(node.url, node.user, node.password)
    send = ways(client)
    latency: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], float] = {}
    node_cpu: dict[tuple[str, str], float] = {}
    try:
        for calls in WORKLOADS.values():  # warm-up
            for way in send.values():
                for _ in range(20):
                    await way(calls)
        for _ in range(cycles):
            for workload, calls in WORKLOADS.items():
                for name, way in send.items():
                    key = (workload, name)
                    pid = node.process.pid
                    node_start, cpu_start = node_cpu_s(pid), time.process_time()
                    for _ in range(rounds):
                        start = time.perf_counter()
                        await way(calls)
                        latency.setdefault(key, []).append(time.perf_counter() - start)
                    cpu[key] = cpu.get(key, 0.0) + time.process_time() - cpu_start
                    node_cpu[key] = node_cpu.get(key, 0.0) + node_cpu_s(pid) - node_start
    finally:
        await client.close()

    print(f"{'workload':8} {'way':7} {'calls':>5} {'median ms':>10} {'p90 ms':>7} "
          f"{'over 30 ms':>10} {'client CPU ms':>14} {'node CPU ms':>12}")
    for (workload, name), samples in latency.items():
        per_round = len(samples)
        deciles = statistics.quantiles(samples, n=10)
        print(f"{workload:8} {name:7} {len(WORKLOADS[workload]):5d} "
              f"{statistics.median(samples) * 1000:10.2f} {deciles[8] * 1000:7.2f} "
              f"{sum(x > 0.030 for x in samples) / per_round:10.0%} "
              f"{cpu[(workload, name)] / per_round * 1000:14.2f} "
              f"{node_cpu[(workload, name)] / per_round * 1000:12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="rounds per block")
    parser.add_argument("--cycles", type=int, default=3, help="blocks per way")
    args = parser.parse_args()
    node = make_node()
    try:
        node.start()
        node.rpc("generate", 101)
        print(f"node {node.rpc('getnetworkinfo')['subversion']}, regtest, "
              f"{args.rounds} rounds x {args.cycles} cycles per way")
        asyncio.run(measure(node, args.rounds, args.cycles))
    finally:
        remove_node(node)


if __name__ == "__main__":
    main()
