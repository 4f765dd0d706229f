"""Summaries of the recent blocks: asked once per block and kept by hash, so a
poll only costs the blocks that are new since the last one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from blocksight_tui.adapters.core_node import GuardedNode, is_node_wide
from blocksight_tui.adapters.core_stats import block_summary
from blocksight_tui.adapters.jsonrpc import BadResponse, Call, RpcError, RpcFailure
from blocksight_tui.events import BlockSummary

log = logging.getLogger(__name__)


class RecentBlocks:
    def __init__(self, node: GuardedNode, count: int) -> None:
        self._node = node
        self.count = count
        self._cache: dict[str, BlockSummary] = {}

    async def summaries(self, chain: Sequence[tuple[int, str]]) -> tuple[BlockSummary, ...]:
        """Summaries for (height, hash) pairs, newest first. A block the node
        cannot describe is left out (logged); a node-wide failure raises."""
        wanted = sorted(chain, reverse=True)[: self.count]
        for _height, block_hash in wanted:
            if block_hash in self._cache:
                continue
            try:
                self._cache[block_hash] = await self._summarise(block_hash)
            except RpcFailure as exc:
                if is_node_wide(exc):
                    raise
                log.warning("block %s: %s", block_hash, exc)
            # One block per step: a full mainnet block list is a few hundred
            # kB of JSON; let the screen and the hub breathe in between.
            await asyncio.sleep(0)
        keep = {h for _, h in wanted}
        self._cache = {h: s for h, s in self._cache.items() if h in keep}
        return tuple(self._cache[h] for _, h in wanted if h in self._cache)

    async def _summarise(self, block_hash: str) -> BlockSummary:
        calls = [Call("getblockheader", (block_hash, True))]
        if "getblockstats" not in self._node.missing:
            calls.append(Call("getblockstats", (block_hash,)))
        if "getblock" not in self._node.missing:
            calls.append(Call("getblock", (block_hash, 1)))
        results = dict(zip((c.method for c in calls), await self._node.batch(calls), strict=True))
        header = results["getblockheader"]
        if isinstance(header, RpcError):
            raise header
        stats = _value(results.get("getblockstats"))
        block = _value(results.get("getblock"))
        coinbase = None
        if isinstance(block, dict) and "coinbase_tx" not in block:
            coinbase = await self._coinbase(block, block_hash)
        try:
            return block_summary(header, stats, block, coinbase)
        except BadResponse:
            # The optional parts are best effort; the header alone still says a lot.
            log.warning("block %s: details unreadable, header only", block_hash)
            return block_summary(header)

    async def _coinbase(self, block: dict[str, Any], block_hash: str) -> Any:
        """The coinbase transaction, for the pool. With the block hash Core
        finds it without -txindex; older builds need the index (or the
        coinbase still unspent)."""
        txids = block.get("tx")
        if not isinstance(txids, list) or not txids or not isinstance(txids[0], str):
            return None
        for params in ((txids[0], True, block_hash), (txids[0], True)):
            (result,) = await self._node.batch([Call("getrawtransaction", params)])
            if not isinstance(result, RpcError):
                return result
        return None


def _value(result: Any) -> Any:
    return None if result is None or isinstance(result, RpcError) else result
