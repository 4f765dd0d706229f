"""Shared fixtures for the TUI tests: realistic events of every type (with the
block summaries, chain tips, fee histogram, both fee modes, peers and traffic
a current node gives), a fake feed that publishes them through a real bus,
and screen text extraction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.app import App
from textual.widget import Widget

from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainMining,
    BlockchainNetwork,
    BlockSummary,
    ChainReorg,
    ChainTip,
    EventType,
    FeeBand,
    FeeEstimate,
    FxRates,
    NetworkFees,
    NetworkMempool,
    Payload,
    PeerSummary,
    PriceCurrent,
    PriceQuote,
    SourceInfo,
    SyncProgress,
    TipHeight,
    TrafficTotals,
)
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.orchestrator.main import MainOrchestrator

NOW = 1_750_000_000
TIP = 901_234
CORE = SourceInfo(name="core")
PRICES = SourceInfo(name="prices")

Publication = tuple[EventType, Payload | None, SourceInfo]


def block_hash(height: int, salt: int = 0) -> str:
    """A block-like hash: leading zeros, then digits unique to (height, salt)."""
    digest = hashlib.sha256(f"{height}/{salt}".encode()).hexdigest()
    return "0" * 18 + digest[18:]


def tips(count: int = 6, top: int = TIP) -> list[TipHeight]:
    """Consecutive tips ending at ``top``, about ten minutes apart."""
    out = []
    for height in range(top - count + 1, top + 1):
        out.append(
            TipHeight(
                height=height,
                hash=block_hash(height),
                time=NOW - (top - height) * 600 - 192,
                previous_hash=block_hash(height - 1),
            )
        )
    return out


def reorg(fork: int = TIP - 2, depth: int = 1) -> ChainReorg:
    return ChainReorg(
        depth=depth,
        fork_height=fork,
        fork_hash=block_hash(fork),
        old_tip_height=fork + depth,
        old_tip_hash=block_hash(fork + depth, salt=1),
        new_tip_height=fork + depth,
        new_tip_hash=block_hash(fork + depth),
        disconnected=(block_hash(fork + depth, salt=1),),
        connected=(block_hash(fork + depth),),
    )


POOLS = ("Foundry USA", "AntPool", "ViaBTC", "F2Pool", "MARA Pool", None)


def summaries(chain: Sequence[TipHeight]) -> tuple[BlockSummary, ...]:
    """Block summaries for ``chain`` (oldest first), newest first as a node
    gives them; the oldest block's pool is unknown."""
    out = []
    for i, t in enumerate(chain):
        pool = POOLS[(len(chain) - 1 - i) % len(POOLS)]
        out.append(
            BlockSummary(
                height=t.height,
                hash=t.hash,
                time=t.time,
                tx_count=3_000 + 111 * i,
                size=1_600_000 + 10_000 * i,
                weight=3_993_000 - 400_000 * (i == 0),
                total_fee_btc=0.021 + i / 1000,
                fee_rate_percentiles=(3.0 + i, 4.0 + i, 5.5 + i, 9.0 + i, 31.0 + i),
                subsidy_btc=3.125,
                pool=pool,
                coinbase_tag=None if pool else "/bitcoin solo/",
            )
        )
    return tuple(reversed(out))


FEE_RATES = {1: 12.4, 2: 10.2, 3: 8.1, 6: 5.03, 12: 3.0, 24: 2.0, 144: 1.01}


def fee_estimates() -> NetworkFees:
    """Both modes for every target, conservative a little higher."""
    estimates = []
    for target, rate in FEE_RATES.items():
        estimates.append(FeeEstimate(target_blocks=target, sat_per_vb=rate))
        estimates.append(
            FeeEstimate(
                target_blocks=target, mode="conservative", sat_per_vb=round(rate * 1.2 + 0.3, 2)
            )
        )
    return NetworkFees(estimates=tuple(estimates))


def fee_bands() -> tuple[FeeBand, ...]:
    """25.3 MvB in bands from 1 to 300 sat/vB, most of it cheap."""
    edges = (0.0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150)
    sizes = (0, 9_000_000, 4_000_000, 2_600_000, 2_000_000, 1_500_000, 1_700_000,
             1_200_000, 900_000, 700_000, 600_000, 500_000, 300_000, 120_000, 60_000,
             40_000, 30_000, 20_000, 15_000, 10_000, 5_000, 0)  # fmt: skip
    bands = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        bands.append(
            FeeBand(
                min_sat_per_vb=low, max_sat_per_vb=high, vsize=sizes[i], tx_count=sizes[i] // 560
            )
        )
    return tuple(bands)


def peers() -> PeerSummary:
    return PeerSummary(
        inbound=8,
        outbound=10,
        by_connection_type={"outbound-full-relay": 8, "block-relay-only": 2, "inbound": 8},
        v2_transport=7,
        top_user_agents=(
            ("/Satoshi:29.0.0/", 7),
            ("/Satoshi:28.1.0/", 5),
            ("/Satoshi:27.0.0/", 3),
            ("/btcd:0.24.2/", 1),
        ),
        ping_ms_median=48.3,
        ping_ms_min=7.25,
    )


def traffic() -> TrafficTotals:
    return TrafficTotals(
        bytes_received=12_345_678_901,
        bytes_sent=45_678_901_234,
        receive_rate_bps=1_234_567.0,
        send_rate_bps=340_000.0,
    )


def syncing_events(height: int = 512_345, headers: int = TIP) -> list[Publication]:
    """A node in initial block download: far behind, measuring its pace."""
    tip = TipHeight(height=height, hash=block_hash(height), time=NOW - 6 * 365 * 86_400)
    info = BlockchainInfo(
        chain="main",
        blocks=height,
        headers=headers,
        best_block_hash=tip.hash,
        difficulty=1.0e12,
        median_time=tip.time - 3_000,
        verification_progress=0.4567891,
        initial_block_download=True,
        sync=SyncProgress(
            progress=0.4567891,
            blocks_behind=headers - height,
            blocks_per_second=52.3,
            eta_seconds=(headers - height) / 52.3,
        ),
    )
    return [("tip.height", tip, CORE), ("blockchain.info", info, CORE)]


def all_events() -> list[Publication]:
    """One realistic event of each of the nine types (the tip last)."""
    chain = tips()
    tip = chain[-1]
    stale = chain[-2].model_copy(update={"hash": block_hash(TIP - 1, salt=1)})
    published: list[Publication] = [("tip.height", t, CORE) for t in chain[:-2]]
    published += [
        ("tip.height", stale, CORE),
        ("chain.reorg", reorg(), CORE),
        ("tip.height", chain[-2], CORE),
        (
            "blockchain.info",
            BlockchainInfo(
                chain="main",
                blocks=TIP,
                headers=TIP,
                best_block_hash=tip.hash,
                difficulty=126_982_285_146_989.3,
                median_time=NOW - 3_000,
                verification_progress=0.9999987,
                initial_block_download=False,
                size_on_disk=712_345_678_901,
                chain_tips=(
                    ChainTip(height=TIP, hash=tip.hash, branch_length=0, status="active"),
                    ChainTip(height=TIP - 1, hash=stale.hash, branch_length=1, status="valid-fork"),
                ),
                recent_blocks=summaries(chain),
            ),
            CORE,
        ),
        (
            "blockchain.network",
            BlockchainNetwork(
                version=290000,
                subversion="/Satoshi:29.0.0/",
                protocol_version=70016,
                connections=18,
                connections_in=8,
                connections_out=10,
                relay_fee_sat_per_vb=1.0,
                reachable_networks=("ipv4", "ipv6", "onion"),
                peers=peers(),
                traffic=traffic(),
            ),
            CORE,
        ),
        (
            "blockchain.mining",
            BlockchainMining(
                chain="main",
                blocks=TIP,
                difficulty=126_982_285_146_989.3,
                network_hashps=9.087e20,
                blocks_until_retarget=1_234,
                blocks_until_halving=148_766,
                subsidy_btc=3.125,
                expected_difficulty_change_pct=2.31,
                mean_block_interval_s=582.0,
            ),
            CORE,
        ),
        ("network.fees", fee_estimates(), CORE),
        (
            "network.mempool",
            NetworkMempool(
                tx_count=45_123,
                vsize=25_300_000,
                usage=123_456_789,
                max_usage=300_000_000,
                min_fee_sat_per_vb=1.0,
                total_fee_btc=0.51234567,
                fee_histogram=fee_bands(),
            ),
            CORE,
        ),
        (
            "price.current",
            PriceCurrent(
                currency="USD",
                price=104_321.5,
                quotes=(
                    PriceQuote(provider="coinbase", price=104_320.0, age_s=3),
                    PriceQuote(provider="kraken", price=104_323.0, age_s=5),
                    PriceQuote(provider="bitstamp", price=104_321.5, age_s=12),
                ),
            ),
            PRICES,
        ),
        ("fx.rates", FxRates(base="USD", rates={"EUR": 0.92, "GBP": 0.79}), PRICES),
        ("tip.height", tip, CORE),
    ]
    return published


@dataclass
class FakeFeed:
    """Publishes a fixed list through a real bus; optionally fails on start."""

    bus: EventBus
    events: Sequence[Publication] = ()
    fail_with: Exception | None = None
    started: int = 0
    stopped: int = 0
    log: list[str] = field(default_factory=list)

    async def start(self) -> None:
        self.started += 1
        if self.fail_with is not None:
            raise self.fail_with
        for event_type, payload, source in self.events:
            self.bus.publish(event_type, payload, source)

    async def stop(self) -> None:
        self.stopped += 1


def plain(events: Sequence[Publication]) -> list[Publication]:
    """The same events without the newer optional fields, as an older node or
    a hub from before them sends: what the panels showed first must still show."""
    bare = {
        "blockchain.info": {"chain_tips": (), "recent_blocks": ()},
        "blockchain.network": {"peers": None, "traffic": None},
        "blockchain.mining": {
            "expected_difficulty_change_pct": None,
            "mean_block_interval_s": None,
        },
        "network.mempool": {"fee_histogram": None},
    }
    out: list[Publication] = []
    for kind, payload, source in events:
        if payload is not None and kind in bare:
            payload = payload.model_copy(update=bare[kind])
        elif isinstance(payload, NetworkFees):
            economical = tuple(e for e in payload.estimates if e.mode == "economical")
            payload = NetworkFees(estimates=economical)
        out.append((kind, payload, source))
    return out


def wired(
    events: Sequence[Publication] = (), mode: str = "demo", label: str = ""
) -> tuple[MainOrchestrator, EventBus, FakeFeed]:
    orch = MainOrchestrator.standard(mode=mode, label=label)  # type: ignore[arg-type]
    bus = EventBus(clock=lambda: float(NOW))
    bus.subscribe(orch.handle)
    return orch, bus, FakeFeed(bus, events)


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, as plain text lines."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def widget_text(widget: Widget) -> str:
    """The widget's own cells (border included), as plain text lines."""
    region = widget.region
    lines = screen_text(widget.app).splitlines()
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


def visible(app: App[Any], widget: Widget) -> bool:
    region = widget.region
    return bool(region.width and region.height) and app.screen.region.contains_region(region)
