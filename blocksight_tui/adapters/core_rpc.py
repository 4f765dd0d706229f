"""The Bitcoin Core adapter: everything the node can tell a node operator,
read over read-only JSON-RPC (one batch per poll) and pushed by ZMQ when the
node publishes blocks.

Failures never leave a poll as exceptions: a node-wide failure (down, 401,
warming up) marks every figure stale or unavailable at once, with the reason;
a figure this node cannot give says "unavailable" and the rest goes on. When
the node comes back, every poll runs at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from blocksight_tui.adapters.base import LastGood, Poll, Publication, Wake
from blocksight_tui.adapters.chain_tracker import DEFAULT_DEPTH, ChainTracker
from blocksight_tui.adapters.core_blocks import RecentBlocks
from blocksight_tui.adapters.core_node import Credentials, GuardedNode, is_node_wide
from blocksight_tui.adapters.core_parse import (
    FEE_TARGETS,
    parse_blockchain_info,
    parse_fee_estimate,
    parse_mempool,
    parse_mining_info,
    parse_network_info,
    parse_tip,
)
from blocksight_tui.adapters.core_stats import (
    SyncMeter,
    TrafficMeter,
    chain_tips,
    expected_difficulty_change_pct,
    mean_block_interval,
    peer_summary,
    retarget_start_height,
)
from blocksight_tui.adapters.jsonrpc import (
    Call,
    JsonRpcClient,
    MethodNotFound,
    RpcError,
    RpcFailure,
)
from blocksight_tui.adapters.mempool_histogram import MempoolHistogram
from blocksight_tui.adapters.resilience import BreakerState
from blocksight_tui.adapters.zmq_blocks import (
    BlockNotice,
    ZmqBlockListener,
    endpoints_from_notifications,
)
from blocksight_tui.events import (
    BlockchainInfo,
    EventType,
    FeeEstimate,
    FeeMode,
    NetworkFees,
    SourceInfo,
    TipHeight,
)

log = logging.getLogger(__name__)

SOURCE_NAME: Final = "core"
STATE_TYPES: Final[tuple[EventType, ...]] = (
    "tip.height",
    "network.fees",
    "network.mempool",
    "blockchain.info",
    "blockchain.network",
    "blockchain.mining",
)
FEE_MODES: Final[tuple[FeeMode, ...]] = ("economical", "conservative")
MAX_TIPS_REPORTED: Final = 10
"""A jump of more blocks (catching up) reports only the last ones as tips."""
AFTER_BLOCK: Final = ("blockchain", "mempool", "mining")


class CoreRpcAdapter:
    name = SOURCE_NAME

    def __init__(
        self,
        client: JsonRpcClient,
        intervals: dict[str, float],
        *,
        recent_blocks: int = 20,
        reorg_depth: int = DEFAULT_DEPTH,
        zmq_enabled: bool = True,
        zmq_endpoints: Sequence[str] = (),
        rpc_host: str = "127.0.0.1",
        refresh_credentials: Callable[[], Credentials] | None = None,
    ) -> None:
        self._intervals = intervals
        self.node = GuardedNode(
            client, refresh_credentials=refresh_credentials, on_restored=self._restored
        )
        self._last = LastGood(SOURCE_NAME)
        self._tracker = ChainTracker(reorg_depth)
        self._recent = RecentBlocks(self.node, recent_blocks)
        self._histogram = MempoolHistogram(self.node)
        self._sync = SyncMeter()
        self._traffic = TrafficMeter()
        self._tip: TipHeight | None = None
        self._period_start: tuple[int, int] | None = None
        self._zmq_enabled = zmq_enabled
        self._zmq_endpoints = tuple(zmq_endpoints)
        self._rpc_host = rpc_host
        self.zmq: ZmqBlockListener | None = None
        self._wake: Wake = lambda *names: None

    def circuits(self) -> dict[str, BreakerState]:
        """For /metrics: the breaker in front of the node."""
        return {SOURCE_NAME: self.node.breaker.state}

    def polls(self) -> list[Poll]:
        i = self._intervals
        return [
            Poll("tip", i["tip"], self.poll_tip),
            Poll("fees", i["fees"], self.poll_fees),
            Poll("mempool", i["mempool"], self.poll_mempool),
            Poll("blockchain", i["blockchain"], self.poll_blockchain),
            Poll("network", i["network"], self.poll_network),
            Poll("mining", i["mining"], self.poll_mining),
        ]

    async def start(self, wake: Wake) -> None:
        self._wake = wake
        if self._zmq_enabled:
            await self._start_zmq()

    async def close(self) -> None:
        if self.zmq is not None:
            await self.zmq.stop()
        await self.node.client.close()

    # ------------------------------------------------------------ ZMQ

    async def _start_zmq(self) -> None:
        """Endpoints from the settings or bitcoin.conf, else asked from the
        node; without any, the tip is polled."""
        endpoints = self._zmq_endpoints
        if not endpoints:
            try:
                result = await self.node.client.call("getzmqnotifications")
                endpoints = endpoints_from_notifications(result, self._rpc_host)
            except RpcFailure as exc:
                log.info("no ZMQ endpoints from the node (%s): polling the tip", exc)
        if endpoints:
            self.zmq = ZmqBlockListener(endpoints, self._on_block_notice)
            self.zmq.start()

    def _on_block_notice(self, notice: BlockNotice) -> None:
        self._wake("tip")

    def _restored(self) -> None:
        self._wake()

    # ------------------------------------------------------------ failures

    def _failed(self, event_type: EventType, exc: RpcFailure) -> list[Publication]:
        """A node-wide failure degrades every figure at once; a local one
        only this figure."""
        if isinstance(exc, MethodNotFound):
            return [self._last.unavailable(event_type, str(exc))]
        types = STATE_TYPES if is_node_wide(exc) else (event_type,)
        return [self._last.failed(t, str(exc)) for t in types]

    # ------------------------------------------------------------ tip

    async def poll_tip(self) -> list[Publication]:
        try:
            best = await self.node.call("getbestblockhash")
            if self._tip is not None and best == self._tip.hash:
                return [self._last.ok("tip.height", self._tip)]
            tip = parse_tip(await self.node.call("getblockheader", best, True))
            change = await self._tracker.update(
                tip.height, tip.hash, self._hashes_at, tip.previous_hash
            )
            tips = await self._tips_for(change.new_heights, tip)
        except RpcFailure as exc:
            return self._failed("tip.height", exc)
        out = []
        if change.reorg is not None:
            log.warning(
                "reorg of depth %d at height %d", change.reorg.depth, change.reorg.fork_height
            )
            out.append(Publication("chain.reorg", change.reorg, SourceInfo(name=SOURCE_NAME)))
        out += [self._last.ok("tip.height", t) for t in tips]
        self._tip = tip
        self._wake(*AFTER_BLOCK)
        return out

    async def _hashes_at(self, heights: Sequence[int]) -> list[str]:
        results = await self.node.batch([Call("getblockhash", (h,)) for h in heights])
        for result in results:
            if isinstance(result, RpcError):
                raise result
        return [str(r) for r in results]

    async def _tips_for(self, heights: Sequence[int], tip: TipHeight) -> list[TipHeight]:
        """A tip per new height, in order, so no block goes unreported; the
        current tip alone after a rollback."""
        between = [h for h in heights[-MAX_TIPS_REPORTED:] if h != tip.height]
        hashes = [self._tracker.hash_at(h) for h in between]
        calls = [Call("getblockheader", (h, True)) for h in hashes if h is not None]
        headers = await self.node.batch(calls) if calls else []
        tips = [parse_tip(h) for h in headers if not isinstance(h, RpcError)]
        return [*tips, tip]

    # ------------------------------------------------------------ fees

    async def poll_fees(self) -> list[Publication]:
        pairs = [(target, mode) for mode in FEE_MODES for target in FEE_TARGETS]
        calls = [Call("estimatesmartfee", (t, m.upper())) for t, m in pairs]
        try:
            results = await self.node.batch(calls)
            estimates: list[FeeEstimate] = []
            for (target, mode), result in zip(pairs, results, strict=True):
                if isinstance(result, RpcError):
                    raise result
                estimates.append(parse_fee_estimate(result, target, mode))
        except MethodNotFound:
            return [self._last.unavailable("network.fees", "this node has no estimatesmartfee")]
        except RpcFailure as exc:
            return self._failed("network.fees", exc)
        return [self._last.ok("network.fees", NetworkFees(estimates=tuple(estimates)))]

    # ------------------------------------------------------------ mempool

    async def poll_mempool(self) -> list[Publication]:
        try:
            mempool = parse_mempool(await self.node.call("getmempoolinfo"))
        except RpcFailure as exc:
            return self._failed("network.mempool", exc)
        try:
            histogram = await self._histogram.refresh(tx_count=mempool.tx_count)
            mempool = mempool.model_copy(update={"fee_histogram": histogram})
        except RpcFailure as exc:
            if is_node_wide(exc):
                return self._failed("network.mempool", exc)
            log.info("mempool histogram unavailable: %s", exc)
        return [self._last.ok("network.mempool", mempool)]

    # ------------------------------------------------------------ chain

    async def poll_blockchain(self) -> list[Publication]:
        calls = [Call("getblockchaininfo")]
        if "getchaintips" not in self.node.missing:
            calls.append(Call("getchaintips"))
        try:
            results = await self.node.batch(calls)
            if isinstance(results[0], RpcError):
                raise results[0]
            info = parse_blockchain_info(results[0])
            sync = self._sync.update(results[0], time.monotonic())
            tips = results[1] if len(results) > 1 else None
            update: dict[str, Any] = {
                "sync": sync,
                "chain_tips": () if tips is None or isinstance(tips, RpcError)
                else chain_tips(tips),
            }
            if sync is None:
                # While catching up, blocks fly by faster than they could be read.
                update["recent_blocks"] = await self._recent_blocks()
        except RpcFailure as exc:
            return self._failed("blockchain.info", exc)
        return [self._last.ok("blockchain.info", info.model_copy(update=update))]

    async def _recent_blocks(self) -> tuple[Any, ...]:
        chain = [(h, self._tracker.hash_at(h)) for h in self._tracker.heights()]
        if self._tip is not None:
            chain = [(h, x) for h, x in chain if h <= self._tip.height]
        return await self._recent.summaries([(h, x) for h, x in chain if x is not None])

    # ------------------------------------------------------------ network

    async def poll_network(self) -> list[Publication]:
        calls = [Call("getnetworkinfo")] + [
            Call(m) for m in ("getpeerinfo", "getnettotals") if m not in self.node.missing
        ]
        try:
            results = dict(
                zip((c.method for c in calls), await self.node.batch(calls), strict=True)
            )
            if isinstance(results["getnetworkinfo"], RpcError):
                raise results["getnetworkinfo"]
            network = parse_network_info(results["getnetworkinfo"])
            update: dict[str, Any] = {}
            peers = results.get("getpeerinfo")
            if peers is not None and not isinstance(peers, RpcError):
                update["peers"] = peer_summary(peers)
            totals = results.get("getnettotals")
            if totals is not None and not isinstance(totals, RpcError):
                update["traffic"] = self._traffic.update(totals, time.monotonic())
        except RpcFailure as exc:
            return self._failed("blockchain.network", exc)
        return [self._last.ok("blockchain.network", network.model_copy(update=update))]

    # ------------------------------------------------------------ mining

    async def poll_mining(self) -> list[Publication]:
        try:
            mining = parse_mining_info(await self.node.call("getmininginfo"))
            update: dict[str, Any] = {}
            tip = self._tip
            if tip is not None and mining.chain != "regtest":
                # Regtest never retargets: an estimate there would mislead.
                start_time = await self._period_start_time(tip.height)
                update["expected_difficulty_change_pct"] = expected_difficulty_change_pct(
                    tip.height, tip.time, start_time
                )
            info = self._last_info()
            if info is not None:
                update["mean_block_interval_s"] = mean_block_interval(info.recent_blocks)
        except RpcFailure as exc:
            return self._failed("blockchain.mining", exc)
        return [self._last.ok("blockchain.mining", mining.model_copy(update=update))]

    async def _period_start_time(self, height: int) -> int:
        start = retarget_start_height(height)
        if self._period_start is None or self._period_start[0] != start:
            block_hash = await self.node.call("getblockhash", start)
            header = await self.node.call("getblockheader", block_hash, True)
            self._period_start = (start, int(header["time"]))
        return self._period_start[1]

    def _last_info(self) -> BlockchainInfo | None:
        data = self._last.latest("blockchain.info")
        return data if isinstance(data, BlockchainInfo) else None
