"""A simulated Bitcoin network: the embedded default when no node is around.

It serves the same polls as the real adapters and emits all nine event types
with plausible, moving values: a block every 30–60 s, a mempool that fills
between blocks and drains at each, fees that follow the mempool, a random-walk
price, and now and then a one-block reorg. `speed` compresses its time (tests
run it fast); `seed` makes a run repeatable.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from blocksight_tui.adapters.base import Poll, Publication, Wake
from blocksight_tui.adapters.core_parse import (
    FEE_TARGETS,
    blocks_until_halving,
    blocks_until_retarget,
    subsidy_btc,
)
from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainMining,
    BlockchainNetwork,
    ChainReorg,
    FeeEstimate,
    FxRates,
    NetworkFees,
    NetworkMempool,
    PriceCurrent,
    PriceQuote,
    SourceInfo,
    TipHeight,
)

SOURCE_NAME: Final = "demo"
START_HEIGHT: Final = 975_000
HISTORY_BLOCKS: Final = 12
REORG_CHANCE: Final = 0.08
BLOCK_GAP_S: Final = (30.0, 60.0)
MAX_MEMPOOL_BYTES: Final = 300_000_000
PRICE_PROVIDERS: Final = ("simulated-a", "simulated-b", "simulated-c", "simulated-d")
FX_BASE: Final[dict[str, float]] = {
    "EUR": 0.92, "GBP": 0.79, "JPY": 151.2, "CHF": 0.88, "CAD": 1.37, "AUD": 1.52,
}


@dataclass(frozen=True)
class SimBlock:
    height: int
    hash: str
    time: int
    tx_count: int


class SimulatedNetwork:
    name = SOURCE_NAME

    def __init__(
        self,
        intervals: dict[str, float],
        seed: int | None = None,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rng = random.Random(seed)
        self._speed = speed
        self._clock = clock
        self._intervals = intervals
        self._t0_real = clock()
        self._t0_sim = float(int(self._t0_real))
        now = self.now()
        self._chain: list[SimBlock] = []
        # A short history at the same pace as what follows, replayed by the
        # first tip poll so the chain view starts full.
        t = int(now - HISTORY_BLOCKS * sum(BLOCK_GAP_S) / 2)
        for h in range(START_HEIGHT - HISTORY_BLOCKS + 1, START_HEIGHT + 1):
            self._chain.append(self._new_block(h, t))
            t += int(self._rng.uniform(*BLOCK_GAP_S))
        self._replay: list[SimBlock] = list(self._chain[1:-1])
        self._next_block_at = now + self._rng.uniform(*BLOCK_GAP_S)
        self._pending_reorg: ChainReorg | None = None
        self._mempool_vsize = self._rng.randint(20_000_000, 60_000_000)
        self._mempool_at = now
        self._price = 96_000.0 + self._rng.uniform(-3000, 3000)
        self._fx = dict(FX_BASE)
        self._peers_out = 10
        self._peers_in = self._rng.randint(5, 40)
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
            Poll("price", self._scaled("price"), self.poll_price),
            Poll("fx", self._scaled("fx"), self.poll_fx),
        ]

    async def start(self, wake: Wake) -> None:
        pass

    async def close(self) -> None:
        pass

    # ------------------------------------------------------------ chain

    @property
    def tip(self) -> SimBlock:
        return self._chain[-1]

    def _new_block(self, height: int, at: int) -> SimBlock:
        digest = hashlib.sha256(f"{height}:{self._rng.random()}".encode()).hexdigest()
        # Real block hashes start with ~19 zero digits; look the part.
        return SimBlock(height, "0" * 19 + digest[19:], at, self._rng.randint(800, 5200))

    def advance(self) -> None:
        """Mine the blocks that are due by now, maybe with a one-block reorg."""
        now = self.now()
        while now >= self._next_block_at:
            at = int(self._next_block_at)
            if len(self._chain) > 2 and self._rng.random() < REORG_CHANCE:
                self._reorg(at)
            else:
                self._chain.append(self._new_block(self.tip.height + 1, at))
            self._chain = self._chain[-200:]
            mined = self._rng.randint(900_000, 1_000_000)
            self._mempool_vsize = max(0, self._mempool_vsize - mined)
            self._next_block_at += self._rng.uniform(*BLOCK_GAP_S)

    def _reorg(self, at: int) -> None:
        """The tip is replaced by a competing block, and a block lands on top."""
        old_tip = self._chain.pop()
        fork = self.tip
        rival = self._new_block(old_tip.height, at)
        on_top = self._new_block(old_tip.height + 1, at)
        self._chain += [rival, on_top]
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
        self.advance()
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
        return out

    @staticmethod
    def _tip_payload(block: SimBlock, parent: SimBlock) -> TipHeight:
        return TipHeight(
            height=block.height, hash=block.hash, time=block.time, previous_hash=parent.hash
        )

    def _fill_mempool(self) -> None:
        """Transactions arrive at about a block's worth per ten minutes, a bit
        faster while the backlog is small, so the mempool hovers and moves."""
        now = self.now()
        dt = max(0.0, now - self._mempool_at)
        self._mempool_at = now
        pull = 1.25 if self._mempool_vsize < 30_000_000 else 0.85
        rate = 1_700 * pull * max(0.0, self._rng.gauss(1.0, 0.35))
        self._mempool_vsize += int(rate * dt)

    def _base_fee(self) -> float:
        # Fees climb with the backlog: ~1 sat/vB when empty, ~40 at 100 MvB.
        return 1.0 + (self._mempool_vsize / 2_500_000) ** 1.1

    async def poll_fees(self) -> list[Publication]:
        self.advance()
        base = self._base_fee()
        estimates = []
        for target in FEE_TARGETS:
            rate = max(1.0, base / (target**0.45) * self._rng.uniform(0.95, 1.05))
            estimates.append(FeeEstimate(target_blocks=target, sat_per_vb=round(rate, 2)))
        return [Publication("network.fees", NetworkFees(estimates=tuple(estimates)), self._source)]

    async def poll_mempool(self) -> list[Publication]:
        self.advance()
        self._fill_mempool()
        vsize = self._mempool_vsize
        data = NetworkMempool(
            tx_count=vsize // 280,
            vsize=vsize,
            usage=min(MAX_MEMPOOL_BYTES, int(vsize * 3.4)),
            max_usage=MAX_MEMPOOL_BYTES,
            min_fee_sat_per_vb=1.0,
            total_fee_btc=round(vsize * self._base_fee() * 0.4 / 100_000_000, 8),
            incremental_relay_fee_sat_per_vb=1.0,
            full_rbf=True,
            loaded=True,
        )
        return [Publication("network.mempool", data, self._source)]

    async def poll_blockchain(self) -> list[Publication]:
        self.advance()
        tip = self.tip
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
        )
        return [Publication("blockchain.info", data, self._source)]

    def _difficulty(self) -> float:
        return 1.52e14 * (1 + 0.04 * (self.tip.height // 2016 - START_HEIGHT // 2016))

    async def poll_network(self) -> list[Publication]:
        self._peers_in = max(0, min(115, self._peers_in + self._rng.randint(-2, 2)))
        data = BlockchainNetwork(
            version=300000,
            subversion="/Satoshi:30.0.0/",
            protocol_version=70016,
            connections=self._peers_in + self._peers_out,
            connections_in=self._peers_in,
            connections_out=self._peers_out,
            relay_fee_sat_per_vb=1.0,
            reachable_networks=("ipv4", "ipv6", "onion"),
        )
        return [Publication("blockchain.network", data, self._source)]

    async def poll_mining(self) -> list[Publication]:
        self.advance()
        height = self.tip.height
        difficulty = self._difficulty()
        data = BlockchainMining(
            chain="main",
            blocks=height,
            difficulty=difficulty,
            network_hashps=difficulty * 2**32 / 600 * self._rng.uniform(0.93, 1.07),
            pooled_tx=self._mempool_vsize // 280,
            blocks_until_retarget=blocks_until_retarget(height),
            blocks_until_halving=blocks_until_halving(height, "main"),
            subsidy_btc=subsidy_btc(height + 1, "main"),
        )
        return [Publication("blockchain.mining", data, self._source)]

    async def poll_price(self) -> list[Publication]:
        self._price *= 1 + self._rng.gauss(0, 0.002)
        quotes = tuple(
            PriceQuote(
                provider=name,
                price=round(self._price * self._rng.uniform(0.999, 1.001), 2),
                age_s=round(self._rng.uniform(0, 20), 1),
            )
            for name in PRICE_PROVIDERS
        )
        median = sorted(q.price for q in quotes)
        price = round((median[1] + median[2]) / 2, 2)
        data = PriceCurrent(currency="USD", price=price, quotes=quotes, stale=False)
        return [Publication("price.current", data, self._source)]

    async def poll_fx(self) -> list[Publication]:
        for code in self._fx:
            self._fx[code] = round(self._fx[code] * (1 + self._rng.gauss(0, 0.001)), 6)
        data = FxRates(base="USD", rates=dict(self._fx))
        return [Publication("fx.rates", data, self._source)]
