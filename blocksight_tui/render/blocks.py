"""Recent blocks as an operator reads them: which pool, how full, what fees.

The tips of the chain arrive first (a push or a quick poll) and the summary
of the same block a moment later (a heavier poll), so the two are merged by
hash: a tip without its summary yet is still drawn, just without details,
and a summary is never attached to a block of another branch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from blocksight_tui.events import BlockSummary, TipHeight
from blocksight_tui.render import format as fmt

MAX_BLOCK_WEIGHT: Final = 4_000_000
UNKNOWN_POOL: Final = "unknown"
SHORT_POOL_NAMES: Final[dict[str, str]] = {
    "Mining Squared": "Mining²",
    "Innopolis Tech": "Innopls",
    "NiceHash": "NiceHsh",
    "Bitfarms": "Bitfarm",
    "Carbon Negative": "Carbon",
    "ULTIMUSPOOL": "ULTIMUS",
    "Binance Pool": "Binance",
    "KuCoin Pool": "KuCoin",
    "SBI Crypto": "SBI",
}


def as_summary(block: TipHeight | BlockSummary) -> BlockSummary:
    if isinstance(block, BlockSummary):
        return block
    return BlockSummary(height=block.height, hash=block.hash, time=block.time)


def merge_blocks(
    tips: Sequence[TipHeight], summaries: Sequence[BlockSummary]
) -> tuple[BlockSummary, ...]:
    """The chain oldest first: the tips, with their summary where one has the
    same hash, preceded by the summaries older than the oldest tip when they
    link to it. Without tips, the summaries alone."""
    by_hash = {s.hash: s for s in summaries}
    older = sorted(summaries, key=lambda s: s.height)
    if not tips:
        return tuple(older)
    first = tips[0]
    prefix = [s for s in older if s.height < first.height]
    if prefix and (
        prefix[-1].height != first.height - 1
        or (first.previous_hash is not None and prefix[-1].hash != first.previous_hash)
    ):
        prefix = []  # another branch, or a gap: only what is known to link
    merged = [by_hash.get(t.hash) or as_summary(t) for t in tips]
    return (*prefix, *merged)


def has_details(block: BlockSummary) -> bool:
    return any(
        v is not None
        for v in (block.tx_count, block.weight, block.fee_rate_percentiles, block.pool)
    ) or bool(block.coinbase_tag)


def fullness(block: BlockSummary) -> float | None:
    """Weight over the consensus limit, 0 to 1."""
    if block.weight is None:
        return None
    return min(1.0, block.weight / MAX_BLOCK_WEIGHT)


def median_fee(block: BlockSummary) -> float | None:
    p = block.fee_rate_percentiles
    return p[len(p) // 2] if p else None


def pool_name(block: BlockSummary) -> str:
    return block.pool or UNKNOWN_POOL


def short_pool(block: BlockSummary, width: int) -> str:
    """The pool in ``width`` cells: the name, else without 'Pool', else its
    first word, else cut."""
    if block.pool is not None:
        return shorten_pool(block.pool, width)
    return UNKNOWN_POOL[:width] if has_details(block) else ""


def shorten_pool(name: str, width: int) -> str:
    if width <= 0:
        return ""
    candidates = [name, SHORT_POOL_NAMES.get(name, name)]
    stripped = name.removesuffix("Pool").removesuffix("POOL").strip()
    candidates.append(stripped or name)
    candidates.append(stripped.split()[0] if stripped.split() else name)
    for text in candidates:
        if len(text) <= width:
            return text
    return fmt.truncate(candidates[-1], width)


def fee_span(block: BlockSummary) -> str:
    """'1.0–25.3' from the 10th to the 90th percentile, in sat/vB."""
    p = block.fee_rate_percentiles
    if not p:
        return fmt.NO_VALUE
    return f"{fmt.fee_rate(p[0])}–{fmt.fee_rate(p[-1])}"


def coinbase_text(block: BlockSummary, width: int) -> str:
    """The pool, or for an unknown one the coinbase tag in quotes."""
    if block.pool is not None:
        return fmt.truncate(block.pool, width)
    if block.coinbase_tag:
        return fmt.truncate(f"? {block.coinbase_tag.strip()}", width)
    return UNKNOWN_POOL if block.tx_count is not None else fmt.NO_VALUE


# ------------------------------------------------------------------ table


@dataclass(frozen=True)
class TableColumn:
    title: str
    width: int
    align: str = ">"
    """'>' right, '<' left."""


TABLE_COLUMNS: Final[tuple[TableColumn, ...]] = (
    TableColumn("height", 7),
    TableColumn("age", 5),
    TableColumn("txs", 6),
    TableColumn("size", 7),
    TableColumn("full", 4),
    TableColumn("median", 6),
    TableColumn("p10–p90", 11),
    TableColumn("fees BTC", 8),
    TableColumn("pool", 12, "<"),
)
"""The pool's width is its least: it takes whatever the others leave."""
DROP_ORDER: Final = ("size", "full", "p10–p90", "age", "fees BTC")
"""The columns given up first when the table is wider than the screen."""


def _age(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86_400:
        return f"{s // 3600}h{s % 3600 // 60:02d}"
    return f"{s // 86_400}d"


def _cells(block: BlockSummary, now: float) -> dict[str, str]:
    full = fullness(block)
    return {
        "height": fmt.count(block.height),
        "age": _age(now - block.time),
        "txs": fmt.count(block.tx_count) if block.tx_count is not None else fmt.NO_VALUE,
        "size": fmt.size(block.size) if block.size is not None else fmt.NO_VALUE,
        # Floored: 99.8% full is not a full block.
        "full": f"{math.floor(full * 100)}%" if full is not None else fmt.NO_VALUE,
        "median": fmt.fee_rate(median_fee(block)),
        "p10–p90": fee_span(block),
        "fees BTC": f"{block.total_fee_btc:.4f}"
        if block.total_fee_btc is not None
        else fmt.NO_VALUE,
        "pool": "",
    }


def table_columns(width: int) -> list[TableColumn]:
    """The columns that fit ``width`` cells, a space between two; the pool
    column takes what is left."""
    columns = list(TABLE_COLUMNS)
    for name in DROP_ORDER:
        if sum(c.width for c in columns) + len(columns) - 1 <= width:
            break
        columns = [c for c in columns if c.title != name]
    fixed = sum(c.width for c in columns[:-1]) + len(columns) - 1
    pool = columns[-1]
    columns[-1] = TableColumn(pool.title, max(len(pool.title), width - fixed), pool.align)
    return columns


def block_table(blocks: Sequence[BlockSummary], now: float, width: int) -> tuple[str, list[str]]:
    """A header and one row a block, in the order given, each at most ``width``
    cells: height, age, txs, size, fullness, fee rates (median and p10–p90,
    sat/vB), total fees and pool, less the columns that do not fit."""
    columns = table_columns(width)

    def line(values: dict[str, str]) -> str:
        parts = [f"{fmt.truncate(values[c.title], c.width):{c.align}{c.width}}" for c in columns]
        return " ".join(parts).rstrip()[:width]

    header = line({c.title: c.title for c in columns})
    rows = []
    for block in blocks:
        values = _cells(block, now)
        values["pool"] = coinbase_text(block, columns[-1].width)
        rows.append(line(values))
    return header, rows
