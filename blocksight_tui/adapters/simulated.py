"""A simulated Bitcoin network: the embedded default when no node is around.

It serves the same polls as the real adapters and emits all nine event types
with plausible, moving values: a block every 30–60 s from a realistic mix of
pools, a mempool that fills between blocks and drains at each, fees that
follow the mempool, peers and traffic that drift, a random-walk price, and
now and then a one-block reorg that leaves a `valid-fork` chain tip.

One fee curve ties the fee figures together: the rate paid at each depth of
the mempool, falling from the top to the 1 sat/vB floor. The histogram is
that curve cut into bands, an estimate for n blocks is the rate n blocks
deep, and a mined block's fee percentiles are the rates of the top block's
worth. `speed` compresses its time (tests run it fast); `seed` makes a run
repeatable. Everything is a few arithmetic steps a poll.
"""

from __future__ import annotations

import hashlib
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from blocksight_tui.adapters.base import Poll, Publication, Wake
from blocksight_tui.adapters.core_parse import (
    FEE_TARGETS,
    RETARGET_INTERVAL,
    blocks_until_halving,
    blocks_until_retarget,
    subsidy_btc,
)
from blocksight_tui.adapters.mempool_histogram import DEFAULT_EDGES
from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainMining,
    BlockchainNetwork,
    BlockSummary,
    ChainReorg,
    ChainTip,
    FeeBand,
    FeeEstimate,
    FxRates,
    NetworkFees,
    NetworkMempool,
    PeerSummary,
    PriceCurrent,
    PriceQuote,
    SourceInfo,
    TipHeight,
    TrafficTotals,
)

SOURCE_NAME: Final = "demo"
START_HEIGHT: Final = 975_000
HISTORY_BLOCKS: Final = 20
RECENT_SUMMARIES: Final = 20
KEPT_BLOCKS: Final = 200
FORK_TIPS_KEPT: Final = 4
REORG_CHANCE: Final = 0.08
BLOCK_GAP_S: Final = (30.0, 60.0)
DEMO_SPACING_S: Final = sum(BLOCK_GAP_S) / 2
"""The demo's own target block interval: its retarget estimate is against this."""
MAX_MEMPOOL_BYTES: Final = 300_000_000
TYPICAL_BACKLOG: Final = 30_000_000
DEMAND_PERIOD_S: Final = 1800.0
DEMAND_SPREAD: Final = 0.35
"""Spread of the log of the demand: most of the time within ×0.5 to ×2."""
BACKLOG_PULL: Final = 0.6
BLOCK_VSIZE: Final = 1_000_000
MAX_BLOCK_WEIGHT: Final = 4_000_000
SAT_PER_BTC: Final = 100_000_000
MIN_FEE: Final = 1.0
URGENT_VB: Final = 150_000.0
"""Depth over which the urgent top layer of the mempool thins out."""
PERCENTILES: Final = (0.10, 0.25, 0.50, 0.75, 0.90)
AFTER_BLOCK: Final = ("blockchain", "mempool", "mining")
PRICE_PROVIDERS: Final = ("simulated-a", "simulated-b", "simulated-c", "simulated-d")
FX_BASE: Final[dict[str, float]] = {
    "EUR": 0.92, "GBP": 0.79, "JPY": 151.2, "CHF": 0.88, "CAD": 1.37, "AUD": 1.52,
}  # fmt: skip

POOLS: Final[tuple[tuple[str | None, str, float], ...]] = (
    ("Foundry USA", "Foundry USA Pool #dropgold", 29.0),
    ("AntPool", "/AntPool/", 17.0),
    ("ViaBTC", "/ViaBTC/Mined by hashpower/", 11.0),
    ("F2Pool", "F2Pool", 10.0),
    ("SpiderPool", "SpiderPool/", 8.0),
    ("MARA Pool", "MARA Pool", 5.0),
    ("Luxor", "/LUXOR/", 3.5),
    ("Binance Pool", "/Binance/", 3.0),
    ("SECPOOL", "SecPool", 3.0),
    ("Braiins Pool", "/slush/", 2.5),
    ("OCEAN", "OCEAN.XYZ", 2.0),
    ("SBI Crypto", "SBICrypto", 1.5),
    ("Poolin", "/poolin.com", 1.0),
    (None, "/solo miner 7f3a/", 1.5),
)
"""(pool, coinbase tag, share of blocks in %); None is a miner no list knows."""

USER_AGENTS: Final[tuple[tuple[str, float], ...]] = (
    ("/Satoshi:29.0.0/", 30),
    ("/Satoshi:28.1.0/", 20),
    ("/Satoshi:30.0.0/", 12),
    ("/Satoshi:27.1.0/", 10),
    ("/Satoshi:28.1.0/Knots:20250305/", 8),
    ("/Satoshi:26.0.0/", 6),
    ("/Satoshi:25.0.0/", 4),
    ("/btcd:0.24.2/", 2),
)


@dataclass(frozen=True)
class SimBlock:
    height: int
    hash: str
    time: int
    tx_count: int
    vsize: int = 0
    size: int = 0
    weight: int = 0
    total_fee_sat: int = 0
    fee_rate_percentiles: tuple[float, ...] = ()
    pool: str | None = None
    coinbase_tag: str = ""

    def summary(self) -> BlockSummary:
        return BlockSummary(
            height=self.height,
            hash=self.hash,
            time=self.time,
            tx_count=self.tx_count,
            size=self.size,
            weight=self.weight,
            total_fee_btc=self.total_fee_sat / SAT_PER_BTC,
            fee_rate_percentiles=self.fee_rate_percentiles,
            subsidy_btc=subsidy_btc(self.height, "main"),
            pool=self.pool,
            coinbase_tag=self.coinbase_tag,
        )


@dataclass(frozen=True)
class FeeCurve:
    """The rate paid at each depth of the mempool, in vB from the top: a
    backlog decaying to the 1 sat/vB floor, plus a thin layer of urgent
    payers at the very top (what makes a block's p90 run far above its p10)."""

    vsize: int
    top: float
    scale_vb: float

    @classmethod
    def for_mempool(cls, vsize: int) -> FeeCurve:
        # Fees climb with the backlog: the next block pays ~3 sat/vB at
        # 5 MvB waiting, ~30 at 40 MvB.
        base = 1.0 + (vsize / 2_500_000) ** 1.1
        return cls(vsize, top=1.5 * base + 1.0, scale_vb=max(800_000.0, vsize / 6))

    @property
    def highest(self) -> float:
        return self.rate_at(0.0)

    def rate_at(self, depth_vb: float) -> float:
        if depth_vb >= self.vsize:
            return MIN_FEE
        d = max(0.0, depth_vb)
        backlog = (self.top - MIN_FEE) * math.exp(-d / self.scale_vb)
        return MIN_FEE + backlog + self.top * math.exp(-d / URGENT_VB)

    def depth_of(self, rate: float) -> float:
        """vB paying at least ``rate``: `rate_at` inverted by bisection."""
        if rate <= MIN_FEE:
            return float(self.vsize)
        if rate >= self.highest:
            return 0.0
        low, high = 0.0, float(self.vsize)
        for _ in range(32):
            mid = (low + high) / 2
            if self.rate_at(mid) >= rate:
                low = mid
            else:
                high = mid
        return low


class SimulatedNetwork:
    name = SOURCE_NAME

    def __init__(
        self,
        intervals: dict[str, float],
        seed: int | None = None,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
        *,
        currency: str = "USD",
        prices: bool = True,
    ) -> None:
        """`currency` is the display currency of the price; with `prices`
        off there are no price nor FX polls, as with --no-price on a node."""
        self._currency = currency
        self._prices = prices
        self._rng = random.Random(seed)
        self._speed = speed
        self._clock = clock
        self._intervals = intervals
        self._t0_real = clock()
        self._t0_sim = float(int(self._t0_real))
        self._wake: Wake = lambda *names: None
        now = self.now()
        self._demand = self._rng.gauss(0.0, DEMAND_SPREAD)
        self._mempool_vsize = int(self._balance() * self._rng.uniform(0.8, 1.2))
        self._mempool_at = now
        self._chain: list[SimBlock] = []
        self._forks: list[ChainTip] = []
        # A short history at the same pace as what follows, replayed by the
        # first tip poll so the chain view starts full.
        t = int(now - HISTORY_BLOCKS * DEMO_SPACING_S)
        for h in range(START_HEIGHT - HISTORY_BLOCKS + 1, START_HEIGHT + 1):
            self._chain.append(self._new_block(h, t))
            t += int(self._rng.uniform(*BLOCK_GAP_S))
        self._replay: list[SimBlock] = list(self._chain[1:-1])
        self._next_block_at = now + self._rng.uniform(*BLOCK_GAP_S)
        self._pending_reorg: ChainReorg | None = None
        self._price = 96_000.0 + self._rng.uniform(-3000, 3000)
        self._fx = dict(FX_BASE)
        self._peers_out = 10
        self._peers_in = self._rng.randint(5, 40)
        self._v2_share = self._rng.uniform(0.3, 0.55)
        self._ping_ms = self._rng.uniform(40, 90)
        self._bytes_recv = self._rng.randint(12, 20) * 1_000_000_000
        self._bytes_sent = self._rng.randint(30, 60) * 1_000_000_000
        self._network_at = now
        self._blocks_seen_by_network = self.tip.height
        self._source = SourceInfo(name=SOURCE_NAME)

    # ------------------------------------------------------------ time

    def now(self) -> float:
        """Simulated seconds: real time since start, sped up."""
        return self._t0_sim + (self._clock() - self._t0_real) * self._speed

    def _scaled(self, name: str) -> float:
        return self._intervals[name] / self._speed

    def polls(self) -> list[Poll]:
        tip_every = min(self._intervals["tip"], 1.0) / self._speed
        return [
            Poll("tip", tip_every, self.poll_tip),
            Poll("fees", self._scaled("fees"), self.poll_fees),
            Poll("mempool", self._scaled("mempool"), self.poll_mempool),
            Poll("blockchain", self._scaled("blockchain"), self.poll_blockchain),
            Poll("network", self._scaled("network"), self.poll_network),
            Poll("mining", self._scaled("mining"), self.poll_mining),
        ] + ([
            Poll("price", self._scaled("price"), self.poll_price),
            Poll("fx", self._scaled("fx"), self.poll_fx),
        ] if self._prices else [])

    async def start(self, wake: Wake) -> None:
        self._wake = wake

    async def close(self) -> None:
        pass

    # ------------------------------------------------------------ chain

    @property
    def tip(self) -> SimBlock:
        return self._chain[-1]

    def _curve(self) -> FeeCurve:
        return FeeCurve.for_mempool(self._mempool_vsize)

    def _new_block(self, height: int, at: int) -> SimBlock:
        """A block filled from the top of the mempool as it is now."""
        digest = hashlib.sha256(f"{height}:{self._rng.random()}".encode()).hexdigest()
        curve = self._curve()
        vsize = int(min(self._mempool_vsize, BLOCK_VSIZE * self._rng.uniform(0.985, 0.999)))
        slices = 20
        fee = sum(curve.rate_at((i + 0.5) * vsize / slices) for i in range(slices)) * vsize / slices
        # p10 is the cheapest tenth of the block: the deepest part of it.
        percentiles = tuple(
            round(curve.rate_at((1 - p) * vsize) * self._rng.uniform(0.97, 1.03), 2)
            for p in PERCENTILES
        )
        pool, tag, _ = self._rng.choices(POOLS, weights=[w for _, _, w in POOLS])[0]
        weight = min(MAX_BLOCK_WEIGHT, int(vsize * 4 * self._rng.uniform(0.997, 1.0)))
        return SimBlock(
            height=height,
            # Real block hashes start with ~19 zero digits; look the part.
            hash="0" * 19 + digest[19:],
            time=at,
            tx_count=max(1, int(vsize / self._rng.uniform(230, 420))),
            vsize=vsize,
            size=int(vsize * self._rng.uniform(1.35, 2.05)),
            weight=weight,
            total_fee_sat=int(fee * self._rng.uniform(0.97, 1.03)),
            fee_rate_percentiles=tuple(sorted(percentiles)),
            pool=pool,
            coinbase_tag=tag,
        )

    def advance(self) -> bool:
        """Mine the blocks that are due by now, maybe with a one-block reorg;
        True when the chain moved."""
        now = self.now()
        moved = False
        while now >= self._next_block_at:
            at = int(self._next_block_at)
            if len(self._chain) > 2 and self._rng.random() < REORG_CHANCE:
                self._reorg(at)
            else:
                self._chain.append(self._new_block(self.tip.height + 1, at))
            self._chain = self._chain[-KEPT_BLOCKS:]
            self._mempool_vsize = max(0, self._mempool_vsize - self.tip.vsize)
            self._next_block_at += self._rng.uniform(*BLOCK_GAP_S)
            moved = True
        return moved

    def _reorg(self, at: int) -> None:
        """The tip is replaced by a competing block, and a block lands on top;
        the node keeps the loser as a `valid-fork` tip."""
        old_tip = self._chain.pop()
        fork = self.tip
        rival = self._new_block(old_tip.height, at)
        on_top = self._new_block(old_tip.height + 1, at)
        self._chain += [rival, on_top]
        lost = ChainTip(
            height=old_tip.height, hash=old_tip.hash, branch_length=1, status="valid-fork"
        )
        self._forks = [lost, *self._forks][:FORK_TIPS_KEPT]
        self._pending_reorg = ChainReorg(
            depth=1,
            fork_height=fork.height,
            fork_hash=fork.hash,
            old_tip_height=old_tip.height,
            old_tip_hash=old_tip.hash,
            new_tip_height=on_top.height,
            new_tip_hash=on_top.hash,
            disconnected=(old_tip.hash,),
            connected=(on_top.hash, rival.hash),
        )

    # ------------------------------------------------------------ polls

    async def poll_tip(self) -> list[Publication]:
        moved = self.advance()
        out = [
            Publication("tip.height", self._tip_payload(block, parent), self._source)
            for parent, block in zip(self._chain, self._replay, strict=False)
        ]
        self._replay.clear()
        if self._pending_reorg is not None:
            out.append(Publication("chain.reorg", self._pending_reorg, self._source))
            self._pending_reorg = None
        tip = self._tip_payload(self._chain[-1], self._chain[-2])
        out.append(Publication("tip.height", tip, self._source))
        if moved:
            # As a node adapter does: the block's summary and the drained
            # mempool follow the tip at once rather than at the next poll.
            self._wake(*AFTER_BLOCK)
        return out

    @staticmethod
    def _tip_payload(block: SimBlock, parent: SimBlock) -> TipHeight:
        return TipHeight(
            height=block.height, hash=block.hash, time=block.time, previous_hash=parent.hash
        )

    def _balance(self) -> float:
        """The backlog at which arrivals match what blocks take, for the
        demand of the moment."""
        return TYPICAL_BACKLOG * math.exp(self._demand / BACKLOG_PULL)

    def _fill_mempool(self) -> None:
        """Transactions arrive at about a block's worth per block interval,
        scaled by a demand that swells and ebbs over half an hour or so, and a
        little faster while the backlog is below its balance: the mempool
        wanders between a few and many tens of MvB, and fees with it."""
        now = self.now()
        dt = max(0.0, now - self._mempool_at)
        self._mempool_at = now
        keep = math.exp(-dt / DEMAND_PERIOD_S)  # a mean-reverting walk, exact for any dt
        self._demand = self._demand * keep + DEMAND_SPREAD * math.sqrt(
            1 - keep * keep
        ) * self._rng.gauss(0.0, 1.0)
        backlog = max(float(BLOCK_VSIZE), float(self._mempool_vsize))
        pull = (TYPICAL_BACKLOG / backlog) ** BACKLOG_PULL
        rate = BLOCK_VSIZE / DEMO_SPACING_S * math.exp(self._demand) * pull
        self._mempool_vsize += int(rate * max(0.0, self._rng.gauss(1.0, 0.35)) * dt)

    def _estimate(self, curve: FeeCurve, target: int, conservative: bool) -> float:
        """The rate about ``target`` blocks deep; conservative looks less deep
        and adds a margin, as Core's longer horizon does."""
        if conservative:
            rate = curve.rate_at(target * BLOCK_VSIZE * 0.7) * self._rng.uniform(1.03, 1.12)
        else:
            rate = curve.rate_at(target * BLOCK_VSIZE * 0.95) * self._rng.uniform(0.97, 1.04)
        return round(max(MIN_FEE, rate), 2)

    async def poll_fees(self) -> list[Publication]:
        self.advance()
        curve = self._curve()
        estimates = []
        # A longer wait never costs more; the noise must not say otherwise.
        economical = conservative = math.inf
        for target in FEE_TARGETS:
            economical = min(economical, self._estimate(curve, target, conservative=False))
            conservative = min(
                conservative, max(economical, self._estimate(curve, target, conservative=True))
            )
            estimates += [
                FeeEstimate(target_blocks=target, mode="economical", sat_per_vb=economical),
                FeeEstimate(target_blocks=target, mode="conservative", sat_per_vb=conservative),
            ]
        return [Publication("network.fees", NetworkFees(estimates=tuple(estimates)), self._source)]

    def _histogram(self, curve: FeeCurve) -> tuple[FeeBand, ...]:
        """The curve cut at the bands Core's adapter uses, with some grain, a
        thin tail of urgent transactions above the curve's top, and the
        totals kept equal to the mempool's."""
        edges = (0.0, *DEFAULT_EDGES)
        raw: list[float] = []
        for i, low in enumerate(edges):
            high = edges[i + 1] if i + 1 < len(edges) else None
            part = curve.depth_of(low) - (curve.depth_of(high) if high is not None else 0.0)
            if low < MIN_FEE:
                part = 0.0
            elif low >= curve.highest:
                # A few impatient or careless payers, thinning out upwards.
                part = curve.vsize * 0.001 * math.exp(-(low - curve.highest) / curve.highest)
                if low > 6 * curve.highest:
                    part = 0.0
            raw.append(max(0.0, part) * self._rng.uniform(0.85, 1.15))
        total = sum(raw)
        scale = curve.vsize / total if total else 0.0
        bands = []
        for i, low in enumerate(edges):
            vsize = int(raw[i] * scale)
            tx_size = self._rng.uniform(180, 260) if low >= 10 else self._rng.uniform(260, 380)
            bands.append(
                FeeBand(
                    min_sat_per_vb=low,
                    max_sat_per_vb=edges[i + 1] if i + 1 < len(edges) else None,
                    vsize=vsize,
                    tx_count=int(vsize / tx_size) if vsize else 0,
                )
            )
        return tuple(bands)

    async def poll_mempool(self) -> list[Publication]:
        self.advance()
        self._fill_mempool()
        curve = self._curve()
        bands = self._histogram(curve)
        vsize = sum(b.vsize for b in bands)
        fee_sat = sum(
            b.vsize * (b.min_sat_per_vb + (b.max_sat_per_vb or b.min_sat_per_vb * 1.25)) / 2
            for b in bands
        )
        data = NetworkMempool(
            tx_count=sum(b.tx_count for b in bands),
            vsize=vsize,
            usage=min(MAX_MEMPOOL_BYTES, int(vsize * 3.4)),
            max_usage=MAX_MEMPOOL_BYTES,
            min_fee_sat_per_vb=MIN_FEE,
            total_fee_btc=round(fee_sat / SAT_PER_BTC, 8),
            incremental_relay_fee_sat_per_vb=1.0,
            full_rbf=True,
            loaded=True,
            fee_histogram=bands,
        )
        return [Publication("network.mempool", data, self._source)]

    async def poll_blockchain(self) -> list[Publication]:
        self.advance()
        tip = self.tip
        active = ChainTip(height=tip.height, hash=tip.hash, branch_length=0, status="active")
        recent = tuple(b.summary() for b in reversed(self._chain[-RECENT_SUMMARIES:]))
        data = BlockchainInfo(
            chain="main",
            blocks=tip.height,
            headers=tip.height,
            best_block_hash=tip.hash,
            difficulty=self._difficulty(),
            median_time=self._chain[-6].time,
            verification_progress=0.99999987,
            initial_block_download=False,
            size_on_disk=742_000_000_000 + (tip.height - START_HEIGHT) * 1_600_000,
            pruned=False,
            sync=None,
            chain_tips=(active, *self._forks),
            recent_blocks=recent,
        )
        return [Publication("blockchain.info", data, self._source)]

    def _difficulty(self) -> float:
        return 1.52e14 * (1 + 0.04 * (self.tip.height // 2016 - START_HEIGHT // 2016))

    def _peers(self, total_out: int) -> PeerSummary:
        total = self._peers_in + total_out
        types = {"outbound-full-relay": 8, "block-relay-only": 2}
        if total_out > self._peers_out:
            types["feeler"] = total_out - self._peers_out
        if self._peers_in:
            types["inbound"] = self._peers_in
        agents = Counter(
            self._rng.choices([a for a, _ in USER_AGENTS], [w for _, w in USER_AGENTS], k=total)
        )
        self._v2_share = min(0.8, max(0.15, self._v2_share + self._rng.gauss(0, 0.02)))
        self._ping_ms = min(250.0, max(20.0, self._ping_ms * math.exp(self._rng.gauss(0, 0.08))))
        return PeerSummary(
            inbound=self._peers_in,
            outbound=total_out,
            by_connection_type=types,
            v2_transport=round(total * self._v2_share),
            top_user_agents=tuple(sorted(agents.items(), key=lambda kv: (-kv[1], kv[0]))[:5]),
            ping_ms_median=round(self._ping_ms, 3),
            ping_ms_min=round(self._ping_ms * self._rng.uniform(0.08, 0.25), 3),
        )

    def _traffic(self) -> TrafficTotals:
        """Bytes move with the peers, and each new block sends a burst."""
        now = self.now()
        dt = max(1.0, now - self._network_at)
        blocks = max(0, self.tip.height - self._blocks_seen_by_network)
        self._network_at, self._blocks_seen_by_network = now, self.tip.height
        received = dt * self._rng.uniform(40_000, 140_000) + blocks * 1_800_000
        sent = dt * (20_000 + self._peers_in * self._rng.uniform(2_000, 8_000))
        sent += blocks * 400_000 * max(1, self._peers_in // 8)
        self._bytes_recv += int(received)
        self._bytes_sent += int(sent)
        return TrafficTotals(
            bytes_received=self._bytes_recv,
            bytes_sent=self._bytes_sent,
            receive_rate_bps=round(received / dt, 1),
            send_rate_bps=round(sent / dt, 1),
        )

    async def poll_network(self) -> list[Publication]:
        self.advance()
        self._peers_in = max(0, min(115, self._peers_in + self._rng.randint(-2, 2)))
        # Now and then a short-lived feeler connection is open.
        out = self._peers_out + (1 if self._rng.random() < 0.3 else 0)
        data = BlockchainNetwork(
            version=300000,
            subversion="/Satoshi:30.0.0/",
            protocol_version=70016,
            connections=self._peers_in + out,
            connections_in=self._peers_in,
            connections_out=out,
            relay_fee_sat_per_vb=1.0,
            reachable_networks=("ipv4", "ipv6", "onion"),
            peers=self._peers(out),
            traffic=self._traffic(),
        )
        return [Publication("blockchain.network", data, self._source)]

    def _period_stats(self) -> tuple[float | None, float | None]:
        """Mean interval over the recent blocks, and the difficulty change the
        blocks of this period point to, against the demo's own spacing."""
        recent = self._chain[-RECENT_SUMMARIES:]
        mean = None
        if len(recent) >= 2 and recent[-1].time > recent[0].time:
            mean = (recent[-1].time - recent[0].time) / (len(recent) - 1)
        start = self.tip.height - self.tip.height % RETARGET_INTERVAL
        period = [b for b in self._chain if b.height >= start] or self._chain
        if len(period) < 2:
            period = self._chain[-2:]
        elapsed = period[-1].time - period[0].time
        if elapsed <= 0:
            return mean, None
        ratio = DEMO_SPACING_S * (len(period) - 1) / elapsed
        return mean, round((min(4.0, max(0.25, ratio)) - 1) * 100, 2)

    async def poll_mining(self) -> list[Publication]:
        self.advance()
        height = self.tip.height
        difficulty = self._difficulty()
        mean, change = self._period_stats()
        data = BlockchainMining(
            chain="main",
            blocks=height,
            difficulty=difficulty,
            network_hashps=difficulty * 2**32 / 600 * self._rng.uniform(0.93, 1.07),
            pooled_tx=self._mempool_vsize // 280,
            blocks_until_retarget=blocks_until_retarget(height),
            blocks_until_halving=blocks_until_halving(height, "main"),
            subsidy_btc=subsidy_btc(height + 1, "main"),
            expected_difficulty_change_pct=change,
            mean_block_interval_s=round(mean, 1) if mean is not None else None,
        )
        return [Publication("blockchain.mining", data, self._source)]

    async def poll_price(self) -> list[Publication]:
        self._price *= 1 + self._rng.gauss(0, 0.002)
        # The walk is in USD; shown in the display currency at today's rate.
        per_usd = self._fx.get(self._currency, 1.0)
        quotes = tuple(
            PriceQuote(
                provider=name,
                price=round(self._price * per_usd * self._rng.uniform(0.999, 1.001), 2),
                age_s=round(self._rng.uniform(0, 20), 1),
            )
            for name in PRICE_PROVIDERS
        )
        price = round(statistics.median(q.price for q in quotes), 2)
        data = PriceCurrent(currency=self._currency, price=price, quotes=quotes, stale=False)
        return [Publication("price.current", data, self._source)]

    async def poll_fx(self) -> list[Publication]:
        for code in self._fx:
            self._fx[code] = round(self._fx[code] * (1 + self._rng.gauss(0, 0.001)), 6)
        data = FxRates(base="USD", rates=dict(self._fx))
        return [Publication("fx.rates", data, self._source)]
