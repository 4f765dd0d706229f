"""The Electrum adapter: tips pushed by the active server's header
notifications (reorgs found by the shared chain tracker), and fee estimates,
published with source "electrum" so they can be shown beside Core's and
cross-checked against them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError

from blocksight_tui.adapters.base import LastGood, Poll, Publication, Wake
from blocksight_tui.adapters.chain_tracker import ChainTracker
from blocksight_tui.adapters.core_parse import FEE_TARGETS, btc_per_kvb_to_sat_per_vb
from blocksight_tui.adapters.electrum.headers import parse_header, split_headers
from blocksight_tui.adapters.electrum.lookups import ElectrumLookups
from blocksight_tui.adapters.electrum.pool import ServerPool
from blocksight_tui.adapters.electrum.servers import ServerSpec
from blocksight_tui.adapters.electrum.session import ElectrumFailure, ServerError
from blocksight_tui.adapters.resilience import BreakerState
from blocksight_tui.events import (
    EventType,
    FeeBand,
    FeeEstimate,
    FeeMode,
    NetworkFees,
    NetworkMempool,
    SourceInfo,
    TipHeight,
)

log = logging.getLogger(__name__)

SOURCE_NAME: Final = "electrum"
TIP_POLL: Final = "electrum.tip"
STATE_TYPES: Final[tuple[EventType, ...]] = ("tip.height", "network.fees", "network.mempool")
MAX_HEADERS_PER_ASK: Final = 100


class ElectrumAdapter:
    name = SOURCE_NAME

    def __init__(
        self,
        specs: Sequence[ServerSpec],
        intervals: dict[str, float],
        *,
        timeout: float = 10.0,
        ping_interval: float = 2.0,
        proxy: str | None = None,
        reorg_depth: int = 100,
        network: str = "main",
    ) -> None:
        self._intervals = intervals
        self.pool = ServerPool(
            specs,
            timeout=timeout,
            ping_interval=ping_interval,
            proxy=proxy,
            on_tip=self._on_tip,
        )
        self.lookups = ElectrumLookups(self.pool, network, proxied=proxy is not None)
        self._tracker = ChainTracker(reorg_depth)
        self._last = LastGood(SOURCE_NAME)
        self._tip: TipHeight | None = None
        self._wake: Wake = lambda *names: None

    def circuits(self) -> dict[str, BreakerState]:
        """For /metrics: a server's session counts as closed (passing) while
        up, open while it is down and waiting to reconnect."""
        return {
            f"{SOURCE_NAME}:{link.url}": "closed" if link.state == "up" else "open"
            for link in self.pool.links
        }

    def polls(self) -> list[Poll]:
        return [
            Poll(TIP_POLL, self._intervals["tip"], self.poll_tip),
            Poll("electrum.fees", self._intervals["fees"], self.poll_fees),
            Poll("electrum.mempool", self._intervals["mempool"], self.poll_mempool),
        ]

    async def start(self, wake: Wake) -> None:
        self._wake = wake
        self.pool.start()

    async def close(self) -> None:
        await self.pool.stop()

    def _on_tip(self) -> None:
        self._wake(TIP_POLL)

    def _detail(self) -> str | None:
        """Which server answered, running what, speaking which protocol."""
        link = self.pool.active
        if link is None or link.connection is None or link.connection.negotiated is None:
            return None
        n = link.connection.negotiated
        return f"{link.url} · {n.server_software} · protocol {n.protocol}"

    def _failed(self, exc: Exception) -> list[Publication]:
        return [self._last.failed(t, str(exc)) for t in STATE_TYPES]

    # ------------------------------------------------------------ tip

    async def poll_tip(self) -> list[Publication]:
        link = self.pool.active
        if link is None or link.tip is None:
            reason = f"no Electrum server reachable ({self.pool.status()})"
            return self._failed(ElectrumFailure(reason))
        try:
            header = parse_header(str(link.tip.get("hex", "")))
            height = int(link.tip["height"])
            if self._tip is not None and self._tip.hash == header.hash:
                return [self._ok("tip.height", self._tip)]
            change = await self._tracker.update(
                height, header.hash, self._hashes_at, header.previous_hash
            )
        except (ElectrumFailure, ServerError, ValueError, KeyError, TypeError) as exc:
            log.warning("Electrum tip from %s refused: %s", link.url, exc)
            return self._failed(exc)
        tip = TipHeight(
            height=height, hash=header.hash, time=header.time, previous_hash=header.previous_hash
        )
        out = []
        if change.reorg is not None:
            source = SourceInfo(name=SOURCE_NAME, detail=self._detail())
            out.append(Publication("chain.reorg", change.reorg, source))
        out.append(self._ok("tip.height", tip))
        self._tip = tip
        return out

    def _ok(self, event_type: EventType, data: Any) -> Publication:
        return self._last.ok(event_type, data, self._detail())

    async def _hashes_at(self, heights: Sequence[int]) -> list[str]:
        """Hashes of the server's chain at these heights, asking for runs of
        consecutive headers at once."""
        found: dict[int, str] = {}
        wanted = sorted(set(heights))
        i = 0
        while i < len(wanted):
            start = wanted[i]
            count = 1
            while (
                i + count < len(wanted)
                and wanted[i + count] == start + count
                and count < MAX_HEADERS_PER_ASK
            ):
                count += 1
            answer = await self.pool.request("blockchain.block.headers", start, count)
            if not isinstance(answer, dict) or not isinstance(answer.get("hex"), str):
                raise ElectrumFailure(f"blockchain.block.headers answered {answer!r:.60}")
            for offset, header in enumerate(split_headers(answer["hex"])):
                found[start + offset] = header.hash
            i += count
        return [found[h] for h in heights]

    # ------------------------------------------------------------ fees

    async def poll_fees(self) -> list[Publication]:
        link = self.pool.active
        negotiated = link.connection.negotiated if link and link.connection else None
        modes: tuple[FeeMode | None, ...] = (
            ("economical", "conservative") if negotiated and negotiated.at_least_1_6 else (None,)
        )
        estimates = []
        try:
            for mode in modes:
                for target in FEE_TARGETS:
                    args: tuple[Any, ...] = (target, mode.upper()) if mode else (target,)
                    rate = await self.pool.request("blockchain.estimatefee", *args)
                    estimates.append(self._estimate(target, mode or "economical", rate))
        except (ElectrumFailure, ServerError, ValueError) as exc:
            return [self._last.failed("network.fees", str(exc))]
        return [self._ok("network.fees", NetworkFees(estimates=tuple(estimates)))]

    @staticmethod
    def _estimate(target: int, mode: FeeMode, rate: Any) -> FeeEstimate:
        if not isinstance(rate, int | float) or isinstance(rate, bool):
            raise ValueError(f"estimatefee answered {rate!r:.40}")
        # -1: the server (its node) has no estimate for this target.
        sat = None if rate < 0 else btc_per_kvb_to_sat_per_vb(rate)
        return FeeEstimate(target_blocks=target, mode=mode, sat_per_vb=sat)

    # ------------------------------------------------------------ mempool

    async def poll_mempool(self) -> list[Publication]:
        """The server's fee histogram and minimum fees: `mempool.get_info` on
        1.6, `blockchain.relayfee` before (gone in 1.6)."""
        link = self.pool.active
        negotiated = link.connection.negotiated if link and link.connection else None
        try:
            histogram = fee_bands(await self.pool.request("mempool.get_fee_histogram"))
            fields: dict[str, Any] = {}
            if negotiated is not None and negotiated.at_least_1_6:
                info = await self.pool.request("mempool.get_info")
                if not isinstance(info, dict):
                    raise ValueError(f"mempool.get_info answered {info!r:.60}")
                fields["min_fee_sat_per_vb"] = _rate(info.get("mempoolminfee"))
                fields["incremental_relay_fee_sat_per_vb"] = _rate(info.get("incrementalrelayfee"))
            else:
                fields["min_fee_sat_per_vb"] = _rate(await self.pool.request("blockchain.relayfee"))
            mempool = NetworkMempool(
                tx_count=None,
                vsize=sum(band.vsize for band in histogram),
                usage=None,
                fee_histogram=histogram,
                **fields,
            )
        except (ElectrumFailure, ServerError, ValueError, ValidationError) as exc:
            return [self._last.failed("network.mempool", str(exc))]
        return [self._ok("network.mempool", mempool)]


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"a fee rate of {value!r:.40}")
    return btc_per_kvb_to_sat_per_vb(value)


def fee_bands(histogram: Any) -> tuple[FeeBand, ...]:
    """`mempool.get_fee_histogram`: [fee, vsize] pairs, fee descending, each
    vsize paying from that fee up to the previous pair's; lowest band first."""
    if not isinstance(histogram, list):
        raise ValueError(f"fee histogram answered {histogram!r:.60}")
    bands: list[FeeBand] = []
    upper: float | None = None
    for pair in histogram:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError(f"fee histogram entry {pair!r:.40}")
        fee, vsize = pair
        if upper is not None and fee > upper:
            raise ValueError("fee histogram is not in descending fee order")
        bands.append(FeeBand(min_sat_per_vb=fee, max_sat_per_vb=upper, vsize=vsize))
        upper = fee
    return tuple(reversed(bands))
