"""Reorg detection from a stream of tips, shared by every source that reports
tips (Bitcoin Core's polls and ZMQ pushes, an Electrum server's headers).

The tracker keeps the hash of each recent height of the chain it last saw.
A new tip either extends that chain (one block or a jump of several, which is
not a reorg), repeats it (a restart or a second notification: nothing), falls
back onto it (the node rolled back, e.g. `invalidateblock`: remembered, the
reorg is reported when the new branch arrives), or forks from it: then the
fork point is found by asking the source for its hashes at the heights we
know, and exactly one `ChainReorg` comes out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from blocksight_tui.events import ChainReorg

DEFAULT_DEPTH: Final = 100
WALK_CHUNK: Final = 16

HashesAt = Callable[[Sequence[int]], Awaitable[Sequence[str]]]
"""Asks the source for its active chain's hashes at these heights, in order."""


@dataclass(frozen=True)
class TipChange:
    """What a new tip meant. `new_heights` are the heights the chain gained
    that were not reported before (the caller may report each as a tip)."""

    reorg: ChainReorg | None
    new_heights: tuple[int, ...]
    repeated: bool = False


class ChainTracker:
    def __init__(self, depth: int = DEFAULT_DEPTH) -> None:
        self._depth = depth
        self._hashes: dict[int, str] = {}
        self._top: int | None = None
        """Highest height of the branch we follow; above the tip after a rollback."""
        self._tip: int | None = None

    @property
    def tip(self) -> tuple[int, str] | None:
        if self._tip is None:
            return None
        return self._tip, self._hashes[self._tip]

    def hash_at(self, height: int) -> str | None:
        return self._hashes.get(height)

    def heights(self) -> list[int]:
        return sorted(self._hashes)

    async def update(
        self,
        height: int,
        block_hash: str,
        hashes_at: HashesAt,
        previous_hash: str | None = None,
    ) -> TipChange:
        """Fold in the source's new tip. With `previous_hash` (from the
        header), the common case, one block on top, needs no question."""
        if self._tip is None or self._top is None:
            await self._seed(height, block_hash, hashes_at)
            return TipChange(None, (height,))
        known = self._hashes.get(height)
        if known == block_hash:
            if height == self._tip:
                return TipChange(None, (), repeated=True)
            if height < self._top:
                # Back onto a block we know: a rollback. Keep the branch above
                # it, so the reorg is measured when the new branch shows up.
                self._tip = height
                return TipChange(None, ())
            # Back to the top of the branch we kept (the rollback was undone).
            self._tip = height
            return TipChange(None, ())
        if previous_hash is not None and previous_hash == self._hashes.get(height - 1):
            fork: int | None = height - 1
        else:
            fork = await self._find_fork(height, hashes_at)
        return await self._switch(height, block_hash, fork, hashes_at)

    async def _seed(self, height: int, block_hash: str, hashes_at: HashesAt) -> None:
        self._hashes.clear()
        low = max(0, height - self._depth + 1)
        below = list(range(low, height))
        if below:
            for h, found in zip(below, await hashes_at(below), strict=True):
                self._hashes[h] = found
        self._hashes[height] = block_hash
        self._top = self._tip = height

    async def _find_fork(self, height: int, hashes_at: HashesAt) -> int | None:
        """The highest height where the source's chain and ours agree, or
        None when they agree nowhere we remember."""
        assert self._top is not None
        start = min(height - 1, self._top)
        lowest = min(self._hashes)
        h = start
        size = 1  # most tips extend our chain: one question settles it
        while h >= lowest:
            chunk = list(range(max(lowest, h - size + 1), h + 1))
            size = WALK_CHUNK
            theirs = dict(zip(chunk, await hashes_at(chunk), strict=True))
            for probe in reversed(chunk):
                if theirs[probe] == self._hashes.get(probe):
                    return probe
            h = chunk[0] - 1
        return None

    async def _switch(
        self, height: int, block_hash: str, fork: int | None, hashes_at: HashesAt
    ) -> TipChange:
        assert self._top is not None
        if fork is None:
            # Nothing in common within our memory: a different chain or a
            # reorg deeper than we keep. Start over rather than guess.
            await self._seed(height, block_hash, hashes_at)
            return TipChange(None, (height,))
        disconnected = [self._hashes[h] for h in range(self._top, fork, -1) if h in self._hashes]
        joined_heights = list(range(fork + 1, height))
        joined = list(await hashes_at(joined_heights)) if joined_heights else []
        reorg = None
        if disconnected:
            connected = [block_hash, *reversed(joined)]
            reorg = ChainReorg(
                depth=len(disconnected),
                fork_height=fork,
                fork_hash=self._hashes[fork],
                old_tip_height=self._top,
                old_tip_hash=self._hashes[self._top],
                new_tip_height=height,
                new_tip_hash=block_hash,
                disconnected=tuple(disconnected),
                connected=tuple(connected),
            )
        previous_tip = self._tip if reorg is None else fork
        assert previous_tip is not None
        for h in [h for h in self._hashes if h > fork]:
            del self._hashes[h]
        for h, found in zip(joined_heights, joined, strict=True):
            self._hashes[h] = found
        self._hashes[height] = block_hash
        self._top = self._tip = height
        for h in [h for h in self._hashes if h <= height - self._depth]:
            del self._hashes[h]
        return TipChange(reorg, tuple(range(previous_tip + 1, height + 1)))
