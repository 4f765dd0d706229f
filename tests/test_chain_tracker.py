"""Reorg detection on scripted chains: extension, jumps, repeats, rollbacks,
forks of depth 1 and 3, and the way back."""

from __future__ import annotations

from collections.abc import Sequence

from blocksight_tui.adapters.chain_tracker import ChainTracker


def hsh(branch: str, height: int) -> str:
    return f"{ord(branch):02x}{height:062x}"


class Node:
    """A source whose active chain we script: a hash per height."""

    def __init__(self, height: int) -> None:
        self.chain = {h: hsh("a", h) for h in range(height + 1)}
        self.questions = 0

    @property
    def tip(self) -> tuple[int, str]:
        top = max(self.chain)
        return top, self.chain[top]

    def mine(self, branch: str, count: int = 1) -> None:
        top = max(self.chain)
        for h in range(top + 1, top + count + 1):
            self.chain[h] = hsh(branch, h)

    def rollback(self, to: int) -> None:
        for h in [h for h in self.chain if h > to]:
            del self.chain[h]

    async def hashes_at(self, heights: Sequence[int]) -> list[str]:
        self.questions += 1
        return [self.chain[h] for h in heights]


async def follow(tracker: ChainTracker, node: Node):  # type: ignore[no-untyped-def]
    height, block_hash = node.tip
    return await tracker.update(height, block_hash, node.hashes_at)


async def test_first_tip_seeds_without_a_reorg() -> None:
    node, tracker = Node(150), ChainTracker(depth=100)
    change = await follow(tracker, node)
    assert change.reorg is None and change.new_heights == (150,)
    assert tracker.heights() == list(range(51, 151))


async def test_one_block_and_a_jump_are_not_reorgs() -> None:
    node, tracker = Node(10), ChainTracker()
    await follow(tracker, node)
    node.mine("a")
    change = await follow(tracker, node)
    assert change.reorg is None and change.new_heights == (11,)
    node.mine("a", 4)
    change = await follow(tracker, node)
    assert change.reorg is None and change.new_heights == (12, 13, 14, 15)


async def test_the_same_tip_again_is_a_repeat() -> None:
    node, tracker = Node(10), ChainTracker()
    await follow(tracker, node)
    change = await follow(tracker, node)
    assert change.repeated and change.reorg is None and change.new_heights == ()


async def test_a_known_parent_needs_no_question() -> None:
    node, tracker = Node(10), ChainTracker()
    await follow(tracker, node)
    node.mine("a")
    asked = node.questions
    change = await tracker.update(11, hsh("a", 11), node.hashes_at, previous_hash=hsh("a", 10))
    assert change.new_heights == (11,) and node.questions == asked


async def test_invalidate_tip_then_two_blocks_is_one_reorg_of_depth_1() -> None:
    node, tracker = Node(20), ChainTracker()
    await follow(tracker, node)
    node.rollback(19)
    node.mine("b", 2)
    change = await follow(tracker, node)
    reorg = change.reorg
    assert reorg is not None and reorg.depth == 1
    assert (reorg.fork_height, reorg.fork_hash) == (19, hsh("a", 19))
    assert (reorg.old_tip_height, reorg.old_tip_hash) == (20, hsh("a", 20))
    assert (reorg.new_tip_height, reorg.new_tip_hash) == (21, hsh("b", 21))
    assert reorg.disconnected == (hsh("a", 20),)
    assert reorg.connected == (hsh("b", 21), hsh("b", 20))
    assert change.new_heights == (20, 21)


async def test_a_rollback_seen_between_is_still_one_reorg() -> None:
    node, tracker = Node(20), ChainTracker()
    await follow(tracker, node)
    node.rollback(17)
    change = await follow(tracker, node)  # the tip went back: no reorg yet
    assert change.reorg is None and tracker.tip == (17, hsh("a", 17))
    node.mine("b", 4)
    change = await follow(tracker, node)
    assert change.reorg is not None and change.reorg.depth == 3
    assert change.reorg.disconnected == (hsh("a", 20), hsh("a", 19), hsh("a", 18))
    assert change.reorg.connected == tuple(hsh("b", h) for h in (21, 20, 19, 18))
    assert (await follow(tracker, node)).reorg is None


async def test_an_undone_rollback_is_no_reorg() -> None:
    node, tracker = Node(20), ChainTracker()
    await follow(tracker, node)
    saved = dict(node.chain)
    node.rollback(18)
    await follow(tracker, node)
    node.chain = saved  # reconsiderblock: the same branch returns
    change = await follow(tracker, node)
    assert change.reorg is None and tracker.tip == (20, hsh("a", 20))


async def test_switching_back_reports_the_reorg_back() -> None:
    node, tracker = Node(20), ChainTracker()
    await follow(tracker, node)
    old = dict(node.chain)
    node.rollback(19)
    node.mine("b", 2)  # b20, b21
    first = (await follow(tracker, node)).reorg
    node.chain = old | {21: hsh("a", 21), 22: hsh("a", 22)}  # branch a grows longer
    back = (await follow(tracker, node)).reorg
    assert first is not None and back is not None
    assert back.disconnected == first.connected
    assert back.depth == 2 and back.fork_height == 19
    assert back.connected == (hsh("a", 22), hsh("a", 21), hsh("a", 20))


async def test_a_reorg_deeper_than_memory_starts_over() -> None:
    node, tracker = Node(300), ChainTracker(depth=10)
    await follow(tracker, node)
    node.chain = {h: hsh("z", h) for h in range(302)}
    change = await follow(tracker, node)
    assert change.reorg is None and tracker.tip == (301, hsh("z", 301))
    assert len(tracker.heights()) == 10
