"""The mempool's fee histogram as vertical bars: fee rate left to right, the
size waiting at each rate upwards.

Pure text out, so the compact panel and the full-size screen share it and it
is unit-tested without a terminal. Bars are made of eighth blocks; a band
that holds anything gets at least one eighth, so a thin high-fee tail is
never lost to rounding. Heights grow with the square root of the size by
default: the 1–2 sat/vB band can hold half the mempool and would otherwise
flatten every other bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from blocksight_tui.events import FeeBand
from blocksight_tui.render.format import bar, rate_label, vsize

EIGHTHS: Final = " ▁▂▃▄▅▆▇█"
MAX_COLUMN_CELLS: Final = 4
"""Bars wider than this look like blocks in a small box."""
MIN_TICK_GAP: Final = 3
"""Blank cells at least between two axis ticks, so they read as separate."""

Scale = Literal["linear", "sqrt"]


@dataclass(frozen=True)
class Column:
    """One bar: the bands merged into it and what they hold."""

    start: int
    """First cell column of the bar."""
    cells: int
    low: float
    high: float | None
    """Upper edge in sat/vB, None when the bar ends with the open top band."""
    vsize: int
    tx_count: int


@dataclass(frozen=True)
class FeeHistogram:
    width: int
    rows: tuple[str, ...]
    """The bars, top row first, each exactly ``width`` cells."""
    axis: str
    """Fee-rate ticks under the bars, ``width`` cells."""
    columns: tuple[Column, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.columns


def column_bars(
    values: Sequence[float], rows: int, *, cells: int = 1, scale: Scale = "sqrt"
) -> list[str]:
    """Vertical bars, ``rows`` tall, one a value, each ``cells`` wide; the
    tallest value fills the height."""
    rows = max(0, rows)
    shaped = [math.sqrt(max(v, 0.0)) if scale == "sqrt" else max(v, 0.0) for v in values]
    top = max(shaped, default=0.0)
    eighths = []
    for v in shaped:
        n = round(v / top * rows * 8) if top > 0 else 0
        eighths.append(max(n, 1) if v > 0 else 0)
    out = []
    for r in range(rows):
        floor = (rows - 1 - r) * 8  # eighths below this row
        out.append("".join(EIGHTHS[min(8, max(0, n - floor))] * cells for n in eighths))
    return out


def trim(bands: Sequence[FeeBand]) -> list[FeeBand]:
    """The bands from the lowest to the highest that holds anything."""
    held = [i for i, b in enumerate(bands) if b.vsize > 0 or (b.tx_count or 0) > 0]
    if not held:
        return []
    return list(bands[held[0] : held[-1] + 1])


def _groups(count: int, slots: int) -> list[range]:
    """``count`` items in ``slots`` consecutive runs as even as possible."""
    bounds = [round(i * count / slots) for i in range(slots + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def fee_histogram(
    bands: Sequence[FeeBand] | None,
    width: int,
    rows: int,
    *,
    scale: Scale = "sqrt",
    unit: str = "",
    max_cells: int = MAX_COLUMN_CELLS,
) -> FeeHistogram:
    """Bars for ``bands`` (lowest first) in ``width`` × ``rows`` cells, with an
    axis line; neighbouring bands merge when there are more than cells."""
    width, rows = max(0, width), max(0, rows)
    shown = trim(bands or ())
    if not shown or width == 0:
        return FeeHistogram(width, tuple(" " * width for _ in range(rows)), " " * width)
    groups = _groups(len(shown), min(len(shown), width))
    # Bars of one width, the spare cells left blank on the right (past the
    # highest fee there is); wide bars get a gap.
    cells = max(1, min(width // len(groups), max_cells))
    starts = [i * cells for i in range(len(groups) + 1)]
    gap = cells >= 3
    columns = []
    for i, group in enumerate(groups):
        part = [shown[j] for j in group]
        columns.append(
            Column(
                start=starts[i],
                cells=starts[i + 1] - starts[i],
                low=part[0].min_sat_per_vb,
                high=part[-1].max_sat_per_vb,
                vsize=sum(b.vsize for b in part),
                tx_count=sum(b.tx_count or 0 for b in part),
            )
        )
    bars = column_bars([c.vsize for c in columns], rows, scale=scale)
    rows_out = tuple(
        "".join(
            row[i] * (c.cells - 1) + (" " if gap else row[i]) for i, c in enumerate(columns)
        ).ljust(width)
        for row in bars
    )
    return FeeHistogram(width, rows_out, axis(columns, width, unit), tuple(columns))


def axis(columns: Sequence[Column], width: int, unit: str = "") -> str:
    """Fee-rate ticks at the lower edge of the bars: the lowest on the left,
    the top on the right (with ``unit`` when there is room), and in between
    as many as fit, spaced apart."""
    line = [" "] * width
    if not columns or width == 0:
        return "".join(line)
    last = columns[-1]
    top = rate_label(last.high) if last.high is not None else rate_label(last.low) + "+"
    if unit and len(top) + len(unit) + 1 <= width // 3:
        top = f"{top} {unit}"
    top_start = max(0, min(last.start + last.cells, width) - len(top))
    ticks: list[tuple[int, str]] = []
    left = rate_label(columns[0].low)
    if len(left) + 1 <= top_start:
        ticks.append((0, left))
    # Else too narrow for both: the top rate says more about a backlog.
    free_from = len(left) + 2 if ticks else 0
    for col in columns[1:-1]:
        text = rate_label(col.low)
        if col.start >= free_from + MIN_TICK_GAP and col.start + len(text) + 2 <= top_start:
            ticks.append((col.start, text))
            free_from = col.start + len(text) + 2
    ticks.append((top_start, top))
    for start, text in ticks:
        line[start : start + len(text)] = text
    return "".join(line)[:width]


def depth_above(bands: Sequence[FeeBand]) -> list[int]:
    """For each band, the vsize paying at least its lower edge: how deep in
    the mempool a transaction at that rate sits, highest band first served."""
    out = [0] * len(bands)
    total = 0
    for i in range(len(bands) - 1, -1, -1):
        total += bands[i].vsize
        out[i] = total
    return out


def band_label(band: FeeBand) -> str:
    """'1–2', '1k–1.2k', '2k+'."""
    if band.max_sat_per_vb is None:
        return f"{rate_label(band.min_sat_per_vb)}+"
    return f"{rate_label(band.min_sat_per_vb)}–{rate_label(band.max_sat_per_vb)}"


BLOCK_VSIZE: Final = 1_000_000
"""A block holds at most a million virtual bytes."""
MIN_TABLE_BAR: Final = 6


def band_table(bands: Sequence[FeeBand], width: int) -> tuple[str, list[str]]:
    """A header and a row per band that holds anything, highest first: the
    band, its size, its transactions, its share of the mempool, how many
    blocks of higher-or-equal paying transactions sit on top of it (counting
    itself) — roughly how many blocks it takes to clear — and, with room, a
    bar of its size."""
    total = sum(b.vsize for b in bands) or 1
    largest = max((b.vsize for b in bands), default=0) or 1
    depths = depth_above(bands)
    header = f"{'sat/vB':<11} {'vsize':>9} {'txs':>7} {'share':>6} {'blocks':>7}"
    bar_width = width - len(header) - 2
    rows = []
    for band, depth in zip(reversed(bands), reversed(depths), strict=True):
        if not band.vsize and not band.tx_count:
            continue
        txs = f"{band.tx_count:,}" if band.tx_count is not None else "—"
        row = (
            f"{band_label(band):<11} {vsize(band.vsize):>9} {txs:>7} "
            f"{band.vsize / total * 100:>5.1f}% {depth / BLOCK_VSIZE:>7.2f}"
        )
        if bar_width >= MIN_TABLE_BAR:
            row += "  " + bar(band.vsize / largest, bar_width).rstrip()
        rows.append(row)
    return header[:width], [row[:width] for row in rows]


def marker_line(columns: Sequence[Column], marks: Sequence[tuple[str, float]], width: int) -> str:
    """Each mark's text under the bar whose band holds its rate (a fee
    estimate under the fees it competes with); marks that would overlap an
    earlier one are left out."""
    line = [" "] * width
    taken: list[tuple[int, int]] = []
    for text, rate in marks:
        col = next(
            (c for c in columns if c.low <= rate and (c.high is None or rate < c.high)),
            None,
        )
        if col is None and columns:
            col = columns[0] if rate < columns[0].low else columns[-1]
        if col is None:
            continue
        start = min(col.start, max(0, width - len(text)))
        end = start + len(text)
        if any(start <= b and a <= end for a, b in taken):
            continue
        line[start:end] = text
        taken.append((start, end))
    return "".join(line)[:width]
