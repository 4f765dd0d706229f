"""The Bitcoin Core adapter: polls a node over read-only JSON-RPC and turns the
answers into events. Each poll is one batch; each failure becomes a stale or
unavailable source state on the figures it affects, never an exception."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

from blocksight_tui.adapters.base import LastGood, Poll, Publication
from blocksight_tui.adapters.core_parse import (
    FEE_TARGETS,
    parse_blockchain_info,
    parse_fee_estimate,
    parse_fees,
    parse_mempool,
    parse_mining_info,
    parse_network_info,
    parse_tip,
)
from blocksight_tui.adapters.jsonrpc import (
    Call,
    JsonRpcClient,
    MethodNotFound,
    RpcError,
    RpcFailure,
)
from blocksight_tui.events import EventType, Payload

log = logging.getLogger(__name__)

SOURCE_NAME: Final = "core"
ERROR_LOG_EVERY_S: Final = 60.0


class CoreRpcAdapter:
    name = SOURCE_NAME

    def __init__(self, client: JsonRpcClient, intervals: dict[str, float]) -> None:
        self._client = client
        self._intervals = intervals
        self._last = LastGood(SOURCE_NAME)
        self._tip_hash: str | None = None
        self._tip: Payload | None = None
        self._failing_since: float | None = None
        self._last_error_log = 0.0

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

    async def start(self) -> None:
        """Nothing to open up front: the session connects on the first poll."""

    async def close(self) -> None:
        await self._client.close()

    # ------------------------------------------------------------ polls

    async def poll_tip(self) -> list[Publication]:
        try:
            best = await self._client.call("getbestblockhash")
            if best != self._tip_hash or self._tip is None:
                header = await self._client.call("getblockheader", best, True)
                self._tip = parse_tip(header)
                self._tip_hash = best
        except RpcFailure as exc:
            return [self._failed("tip.height", exc)]
        self._recovered()
        assert self._tip is not None
        return [self._last.ok("tip.height", self._tip)]

    async def poll_fees(self) -> list[Publication]:
        calls = [Call("estimatesmartfee", (target,)) for target in FEE_TARGETS]
        try:
            results = await self._client.batch(calls)
        except RpcFailure as exc:
            return [self._failed("network.fees", exc)]
        estimates = []
        for target, result in zip(FEE_TARGETS, results, strict=True):
            if isinstance(result, MethodNotFound):
                return [self._last.unavailable("network.fees", "this node has no estimatesmartfee")]
            if isinstance(result, RpcError):
                return [self._failed("network.fees", result)]
            try:
                estimates.append(parse_fee_estimate(result, target))
            except RpcFailure as exc:
                return [self._failed("network.fees", exc)]
        self._recovered()
        return [self._last.ok("network.fees", parse_fees(estimates))]

    async def poll_mempool(self) -> list[Publication]:
        return [await self._single("network.mempool", "getmempoolinfo", parse_mempool)]

    async def poll_blockchain(self) -> list[Publication]:
        return [await self._single("blockchain.info", "getblockchaininfo", parse_blockchain_info)]

    async def poll_network(self) -> list[Publication]:
        return [await self._single("blockchain.network", "getnetworkinfo", parse_network_info)]

    async def poll_mining(self) -> list[Publication]:
        return [await self._single("blockchain.mining", "getmininginfo", parse_mining_info)]

    # ------------------------------------------------------------ helpers

    async def _single(
        self, event_type: EventType, method: str, parse: Callable[[Any], Payload]
    ) -> Publication:
        try:
            result = await self._client.call(method)
            payload = parse(result)
        except MethodNotFound as exc:
            return self._last.unavailable(event_type, str(exc))
        except RpcFailure as exc:
            return self._failed(event_type, exc)
        self._recovered()
        return self._last.ok(event_type, payload)

    def _failed(self, event_type: EventType, exc: RpcFailure) -> Publication:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if now - self._last_error_log >= ERROR_LOG_EVERY_S:
            # Once a minute is enough: a node that is down for an hour
            # should not fill the log.
            self._last_error_log = now
            log.warning("Bitcoin Core at %s: %s", self._client.url, exc)
        return self._last.failed(event_type, str(exc))

    def _recovered(self) -> None:
        if self._failing_since is not None:
            log.info(
                "Bitcoin Core at %s: connection restored after %.0f s",
                self._client.url,
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None
            self._last_error_log = 0.0
