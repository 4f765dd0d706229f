"""The chain picture: recent blocks as linked braille boxes, newest on the right.

A pure function of the blocks and the size in cells, so the widget can cache
its result and the picture can be unit-tested without a terminal. Layout,
from the top: braille art rows, then (when there is room) a row of heights
under the blocks and a row of the time between blocks.

Blocks known by their summary (pool, fees, weight) are drawn wider, with the
pool and the median fee rate inside and a gauge of their weight along the
bottom edge, and when the picture is tall, rows of transaction counts and
total fees under them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from blocksight_tui.events import BlockSummary, ChainReorg, TipHeight
from blocksight_tui.render import format as fmt
from blocksight_tui.render.blocks import as_summary, fullness, has_details, median_fee, short_pool
from blocksight_tui.render.braille import BrailleCanvas

MAX_BOX_DOTS: Final = 16
"""Boxes stop growing at four cell rows: a taller picture only gains margin."""
MAX_STUB_CELLS: Final = 6
"""Length of the dotted line that says the chain goes on to the left."""
DETAIL_BOX_CELLS: Final = 9
"""Boxes with details inside: seven cells of text, 'Foundry' or '1,234.5'."""
DETAIL_LABEL_ROWS: Final = 4


@dataclass(frozen=True)
class BlockSpan:
    """Where one block was drawn: cell columns ``start`` to ``end`` (exclusive)."""

    height: int
    start: int
    end: int
    tip: bool


@dataclass(frozen=True)
class Label:
    row: int
    start: int
    text: str
    tip: bool = False


@dataclass(frozen=True)
class ChainPicture:
    width: int
    height: int
    rows: tuple[str, ...]
    """Exactly ``height`` strings of exactly ``width`` characters."""
    art_rows: int
    """How many of the top rows are braille art; the rest are label rows."""
    blocks: tuple[BlockSpan, ...] = ()
    labels: tuple[Label, ...] = ()
    reorg_col: int | None = None
    """The cell column of the reorg marker, when it is in view."""
    caption: str = ""
    """A one-line note for a title (the last reorg), empty when there is none."""
    details: tuple[Label, ...] = ()
    """Text inside the boxes (art rows): the pool, then the median fee rate."""
    legend: str = ""
    """What the details are, for a title; empty when none are drawn."""

    @property
    def tip(self) -> BlockSpan | None:
        return self.blocks[-1] if self.blocks and self.blocks[-1].tip else None


def render_chain(
    blocks: Sequence[TipHeight | BlockSummary],
    width: int,
    height: int,
    last_reorg: ChainReorg | None = None,
) -> ChainPicture:
    """Draw ``blocks`` (oldest first; the last one is the tip) in ``width`` × ``height`` cells."""
    width, height = max(0, width), max(0, height)
    caption = _reorg_caption(last_reorg)
    summaries = [as_summary(b) for b in blocks]
    detailed = (
        any(has_details(b) for b in summaries)
        and height >= 4
        and width >= 2 * (DETAIL_BOX_CELLS + 2)
    )
    if detailed:
        label_rows = 1 if height < 6 else min(DETAIL_LABEL_ROWS, height - 4)
    else:
        label_rows = 0 if height < 3 else 2 if height >= 7 else 1
    art_rows = height - label_rows
    canvas = BrailleCanvas(width, art_rows)
    if not blocks or width == 0 or art_rows == 0:
        blank = tuple(canvas.rows()) + (" " * width,) * label_rows
        return ChainPicture(width, height, blank, art_rows, caption=caption)

    dot_h = art_rows * 4
    margin = 1 if dot_h >= 8 else 0
    box_h = min(dot_h - 2 * margin, MAX_BOX_DOTS - 2)
    box_w = max(1, box_h // 2)  # cells; a dot is about square, so this is a square
    if detailed:
        box_w = max(box_w, DETAIL_BOX_CELLS)
    gap = 1 if box_w <= 3 else 2
    right = 1 if width >= 12 else 0
    y0 = (dot_h - box_h) // 2
    y1 = y0 + box_h - 1
    link_y = (y0 + y1) // 2

    spans: list[BlockSpan] = []
    for k, block in enumerate(reversed(blocks)):
        end = width - right - k * (box_w + gap)
        start = end - box_w
        if start < 0:
            break
        spans.append(BlockSpan(block.height, start, end, tip=k == 0))
    spans.reverse()
    first = len(blocks) - len(spans)
    shown = summaries[first:]

    for span, summary in zip(spans, shown, strict=True):
        x0, x1 = span.start * 2, span.end * 2 - 1
        if span.tip and not detailed:
            canvas.fill_rect(x0, y0, x1, y1)
        else:
            canvas.rect(x0, y0, x1, y1)
        full = fullness(summary) if detailed else None
        if full is not None and full > 0:
            # The weight gauge: two dot rows along the inside of the bottom edge.
            inner = x1 - x0 - 3
            canvas.fill_rect(x0 + 2, y1 - 2, x0 + 1 + max(1, round(full * inner)), y1 - 1)
    for left, right_span in zip(spans, spans[1:], strict=False):
        contiguous = right_span.height == left.height + 1
        canvas.line(
            left.end * 2, link_y, right_span.start * 2 - 1, link_y, step=1 if contiguous else 2
        )
    if spans and (spans[0].height > 0 or len(spans) < len(blocks)):
        # The chain goes on to the left, older than what is known or fits.
        stub = min(spans[0].start, MAX_STUB_CELLS)
        canvas.line((spans[0].start - stub) * 2, link_y, spans[0].start * 2 - 1, link_y, step=2)

    reorg_col = None
    if last_reorg is not None:
        reorg_col = _reorg_column(spans, last_reorg.fork_height, gap)
        if reorg_col is not None and reorg_col < width:
            for y in range(0, dot_h, 2):
                canvas.set(reorg_col * 2, y)
        else:
            reorg_col = None

    labels: list[Label] = []
    if label_rows >= 1:
        labels += _place(art_rows, spans, [_height_label(s.height) for s in spans], width)
    if label_rows >= 2:
        texts = [_interval(blocks, i) for i in range(first, len(blocks))]
        labels += _place(art_rows + 1, spans, texts, width)
    if label_rows >= 3:
        labels += _place(art_rows + 2, spans, [_txs(s) for s in shown], width)
    if label_rows >= 4:
        labels += _place(art_rows + 3, spans, [_fees(s) for s in shown], width)

    rows = canvas.rows()
    details: list[Label] = []
    if detailed:
        inside = [r for r in range(art_rows) if r * 4 > y0 and r * 4 + 3 < y1]
        for span, summary in zip(spans, shown, strict=True):
            room = span.end - span.start - 2
            median = median_fee(summary)
            texts = [short_pool(summary, room), fmt.fee_rate(median) if median is not None else ""]
            for row, text in zip(inside, texts, strict=False):
                if text:
                    start = span.start + 1 + (room - len(text)) // 2
                    details.append(Label(row, start, text, span.tip))
        for d in details:
            rows[d.row] = rows[d.row][: d.start] + d.text + rows[d.row][d.start + len(d.text) :]
    for r in range(label_rows):
        line = [" "] * width
        for label in labels:
            if label.row == art_rows + r:
                line[label.start : label.start + len(label.text)] = label.text
        rows.append("".join(line))
    legend = "pool · median sat/vB · weight" if details else ""
    return ChainPicture(
        width,
        height,
        tuple(rows),
        art_rows,
        tuple(spans),
        tuple(labels),
        reorg_col,
        caption,
        tuple(details),
        legend,
    )


def _reorg_column(spans: Sequence[BlockSpan], fork_height: int, gap: int) -> int | None:
    for span in spans:
        if span.height == fork_height:
            return span.end + (gap - 1) // 2
    return None


def _reorg_caption(reorg: ChainReorg | None) -> str:
    if reorg is None:
        return ""
    return f"reorg depth {reorg.depth} at {reorg.fork_height:,}"


def _height_label(height: int) -> tuple[str, str]:
    """The full label and the short one for when neighbours are close."""
    return f"{height:,}", f"…{height % 1000:03d}"


def _txs(block: BlockSummary) -> str:
    return f"{fmt.count(block.tx_count)} tx" if block.tx_count is not None else ""


def _fees(block: BlockSummary) -> str:
    return f"{block.total_fee_btc:.3f} BTC" if block.total_fee_btc is not None else ""


def _interval(blocks: Sequence[TipHeight | BlockSummary], i: int) -> str:
    """The time since the previous block, when that block is the parent."""
    if i == 0 or blocks[i].height != blocks[i - 1].height + 1:
        return ""
    s = blocks[i].time - blocks[i - 1].time
    sign = "-" if s < 0 else "+"
    s = abs(s)
    if s < 60:
        text = f"{s}s"
    elif s < 3600:
        text = f"{round(s / 60)}m"
    else:
        h, rest = divmod(s, 3600)
        text = f"{h}h{rest // 60:02d}"
    return sign + text


def _place(
    row: int,
    spans: Sequence[BlockSpan],
    texts: Sequence[tuple[str, str] | str],
    width: int,
) -> list[Label]:
    """Centre each label under its block, newest first, skipping what would collide."""
    placed: list[Label] = []
    limit = width  # labels to the right end before this column, with one space
    for span, text in zip(reversed(spans), reversed(texts), strict=False):
        options = (text,) if isinstance(text, str) else text
        for option in options:
            if not option:
                break
            centre = (span.start + span.end) // 2
            start = min(max(0, centre - len(option) // 2), width - len(option))
            if start >= 0 and start + len(option) <= limit:
                placed.append(Label(row, start, option, span.tip))
                limit = start - 1
                break
    placed.reverse()
    return placed
