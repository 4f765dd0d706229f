"""The fee histogram renderer: bars, band merging, axis ticks, estimate marks
and the bands table, all as plain text."""

from __future__ import annotations

import pytest

from blocksight_tui.events import FeeBand
from blocksight_tui.render.histogram import (
    EIGHTHS,
    band_label,
    band_table,
    column_bars,
    depth_above,
    fee_histogram,
    marker_line,
    trim,
)
from tests.tui_support import fee_bands


def band(low: float, high: float | None, vsize: int, txs: int | None = None) -> FeeBand:
    return FeeBand(
        min_sat_per_vb=low,
        max_sat_per_vb=high,
        vsize=vsize,
        tx_count=vsize // 250 if txs is None else txs,
    )


def test_bars_fill_from_the_bottom_in_eighths() -> None:
    assert column_bars([8, 4, 0], 1, scale="linear") == ["█▄ "]
    assert column_bars([16, 4], 2, scale="linear") == ["█ ", "█▄"]
    assert column_bars([16, 12], 2, scale="linear") == ["█▄", "██"]


def test_tiny_but_present_values_still_show() -> None:
    rows = column_bars([1_000_000, 1], 2, scale="linear")
    assert rows[-1][1] == EIGHTHS[1]


def test_square_root_scale_lifts_the_small_bars() -> None:
    linear = column_bars([100, 25], 1, scale="linear")
    sqrt = column_bars([100, 25], 1, scale="sqrt")
    assert linear == ["█▂"] and sqrt == ["█▄"]


def test_wide_bars_repeat_their_glyph() -> None:
    assert column_bars([8, 4], 1, cells=3, scale="linear") == ["███▄▄▄"]


def test_empty_bands_at_both_ends_are_trimmed() -> None:
    bands = [band(0, 1, 0), band(1, 2, 10), band(2, 3, 0), band(3, 4, 5), band(4, None, 0)]
    assert [b.min_sat_per_vb for b in trim(bands)] == [1, 2, 3]
    assert trim([band(0, 1, 0)]) == []


@pytest.mark.parametrize(("width", "rows"), [(22, 1), (22, 2), (36, 4), (78, 8), (5, 1)])
def test_histogram_is_sized(width: int, rows: int) -> None:
    picture = fee_histogram(fee_bands(), width, rows)
    assert len(picture.rows) == rows
    assert all(len(row) == width for row in picture.rows)
    assert len(picture.axis) == width
    assert picture.rows[-1][0] == "█"  # the largest band reaches the top


def test_more_bands_than_cells_merge_and_keep_every_byte() -> None:
    bands = fee_bands()
    picture = fee_histogram(bands, 8, 1)
    assert len(picture.columns) == 8
    assert sum(c.vsize for c in picture.columns) == sum(b.vsize for b in bands)
    assert picture.columns[0].low == 1 and picture.columns[-1].high == 150
    lows = [c.low for c in picture.columns]
    assert lows == sorted(lows)


def test_few_bands_get_wide_bars_with_gaps() -> None:
    picture = fee_histogram([band(1, 2, 100), band(2, 3, 50)], 40, 1)
    assert [c.cells for c in picture.columns] == [4, 4]
    assert picture.rows[0].startswith("███ ")


def test_axis_has_the_ends_and_ticks_in_between() -> None:
    picture = fee_histogram(fee_bands(), 22, 1)
    ticks = picture.axis.split()
    assert ticks[0] == "1" and ticks[-1] == "150"
    assert len(ticks) >= 3
    assert "  " in picture.axis  # ticks stand apart


def test_an_open_top_band_reads_plus() -> None:
    picture = fee_histogram([band(1, 2, 100), band(2000, None, 10)], 20, 1)
    assert picture.axis.rstrip().endswith("2k+")


def test_unit_joins_the_top_tick_when_there_is_room() -> None:
    assert fee_histogram(fee_bands(), 40, 1, unit="sat/vB").axis.rstrip().endswith("150 sat/vB")
    assert "sat/vB" not in fee_histogram(fee_bands(), 20, 1, unit="sat/vB").axis


def test_narrow_axis_keeps_the_top() -> None:
    picture = fee_histogram(fee_bands(), 4, 1)
    assert picture.axis.strip() == "150"


@pytest.mark.parametrize("bands", [None, (), (band(0, 1, 0),)])
def test_nothing_to_draw_is_blank(bands: tuple[FeeBand, ...] | None) -> None:
    picture = fee_histogram(bands, 10, 2)
    assert picture.empty
    assert picture.rows == (" " * 10, " " * 10) and picture.axis == " " * 10


def test_depth_counts_what_pays_as_much_or_more() -> None:
    bands = [band(1, 2, 500), band(2, 5, 300), band(5, None, 200)]
    assert depth_above(bands) == [1000, 500, 200]


def test_estimate_marks_sit_under_their_band_and_never_overlap() -> None:
    picture = fee_histogram(fee_bands(), 40, 1)
    line = marker_line(picture.columns, [("▲1", 12.4), ("▲2", 12.3), ("▲144", 1.01)], 40)
    assert len(line) == 40
    twelve = next(c for c in picture.columns if c.low <= 12.4 < (c.high or 1e9))
    assert line[twelve.start : twelve.start + 3] == "▲1 "
    assert "▲2" not in line  # same spot as ▲1: left out
    assert line.startswith("▲144")


def test_bands_table_highest_first_with_depth_in_blocks() -> None:
    bands = [band(1, 2, 1_500_000, 5000), band(2, 3, 0, 0), band(10, None, 500_000, 900)]
    header, rows = band_table(bands, 60)
    assert header.split() == ["sat/vB", "vsize", "txs", "share", "blocks"]
    assert len(rows) == 2  # the empty band is left out
    assert rows[0].split()[:6] == ["10+", "500", "kvB", "900", "25.0%", "0.50"]
    assert rows[1].split()[:6] == ["1–2", "1.50", "MvB", "5,000", "75.0%", "2.00"]
    assert "█" in rows[1]  # a bar of its size with room to spare


def test_band_labels() -> None:
    assert band_label(band(1, 2, 1)) == "1–2"
    assert band_label(band(1000, 1200, 1)) == "1k–1.2k"
    assert band_label(band(2000, None, 1)) == "2k+"
