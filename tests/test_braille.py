"""The braille canvas and the chain picture: pure, no terminal needed."""

from __future__ import annotations

import pytest

from blocksight_tui.events import TipHeight
from blocksight_tui.render.braille import BrailleCanvas
from blocksight_tui.render.chain import render_chain
from tests.tui_support import TIP, block_hash, reorg, tips

# ------------------------------------------------------------------ canvas


@pytest.mark.parametrize(
    ("x", "y", "char"),
    [
        (0, 0, "⠁"),  # U+2801
        (0, 1, "⠂"),  # U+2802
        (0, 2, "⠄"),  # U+2804
        (1, 0, "⠈"),  # U+2808
        (1, 1, "⠐"),  # U+2810
        (1, 2, "⠠"),  # U+2820
        (0, 3, "⡀"),  # U+2840
        (1, 3, "⢀"),  # U+2880
    ],
)
def test_each_dot_has_its_bit(x: int, y: int, char: str) -> None:
    canvas = BrailleCanvas(1, 1)
    canvas.set(x, y)
    assert canvas.rows() == [char]


def test_dots_are_or_merged() -> None:
    canvas = BrailleCanvas(1, 1)
    canvas.set(0, 0)
    canvas.set(1, 1)
    canvas.set(0, 0)  # setting twice changes nothing
    assert canvas.rows() == ["⠑"]  # 0x01 | 0x10
    canvas.fill_rect(0, 0, 1, 3)
    assert canvas.rows() == ["⣿"]


def test_dots_outside_are_clipped() -> None:
    canvas = BrailleCanvas(2, 1)
    for x, y in [(-1, 0), (4, 0), (0, -1), (0, 4), (100, 100)]:
        canvas.set(x, y)
    assert canvas.rows() == ["  "]
    assert not canvas.get(-1, 0)


def test_cells_map_to_rows_and_columns() -> None:
    canvas = BrailleCanvas(3, 2)
    canvas.set(2, 0)  # second cell, first row
    canvas.set(5, 7)  # third cell, second row, bottom-right dot
    assert canvas.rows() == [" ⠁ ", "  ⢀"]
    assert canvas.cell(1, 0) == 0x01
    assert canvas.cell(2, 1) == 0x80
    assert canvas.cell(9, 9) == 0


def test_empty_cells_can_be_the_blank_pattern() -> None:
    assert BrailleCanvas(2, 1).rows(blank="\u2800") == ["\u2800\u2800"]


def test_line_steep_diagonal() -> None:
    canvas = BrailleCanvas(1, 1)
    canvas.line(0, 0, 1, 3)  # dots (0,0) (0,1) (1,2) (1,3)
    assert canvas.rows() == ["⢣"]  # 0x01 | 0x02 | 0x20 | 0x80 = 0xA3


def test_line_is_the_same_both_ways() -> None:
    a, b = BrailleCanvas(4, 2), BrailleCanvas(4, 2)
    a.line(0, 0, 7, 7)
    b.line(7, 7, 0, 0)
    assert a.rows() == b.rows() == ["⠑⢄  ", "  ⠑⢄"]


def test_dotted_line() -> None:
    canvas = BrailleCanvas(2, 1)
    canvas.line(0, 0, 3, 0, step=2)  # dots at x = 0 and 2
    assert canvas.rows() == ["⠁⠁"]


def test_rect_outline_and_fill() -> None:
    outline = BrailleCanvas(2, 1)
    outline.rect(0, 0, 3, 3)
    assert outline.rows() == ["⣏⣹"]
    filled = BrailleCanvas(2, 1)
    filled.fill_rect(3, 3, 0, 0)  # corners in any order
    assert filled.rows() == ["⣿⣿"]


def test_shapes_running_off_the_canvas_are_clipped() -> None:
    canvas = BrailleCanvas(1, 1)
    canvas.fill_rect(-5, -5, 50, 50)
    canvas.rect(-3, -3, 10, 10)
    canvas.line(-10, 1, 10, 1)
    assert canvas.rows() == ["⣿"]


def test_zero_sized_canvas() -> None:
    canvas = BrailleCanvas(0, 0)
    canvas.set(0, 0)
    canvas.line(0, 0, 5, 5)
    assert canvas.rows() == []


# ------------------------------------------------------------- the chain


def _check_shape(rows: tuple[str, ...], width: int, height: int) -> None:
    assert len(rows) == height
    assert all(len(row) == width for row in rows)


def test_chain_is_deterministic_and_sized() -> None:
    blocks = tips(8)
    first = render_chain(blocks, 60, 5, reorg())
    assert first == render_chain(blocks, 60, 5, reorg())
    _check_shape(first.rows, 60, 5)
    assert first.art_rows == 4


def test_newest_block_is_on_the_right_and_filled() -> None:
    picture = render_chain(tips(5), 60, 5)
    heights = [b.height for b in picture.blocks]
    assert heights == sorted(heights) and heights[-1] == TIP
    starts = [b.start for b in picture.blocks]
    assert starts == sorted(starts)
    tip = picture.tip
    assert tip is not None and tip.end >= 58
    middle = picture.rows[1]
    assert set(middle[tip.start : tip.end]) == {"⣿"}  # filled
    other = picture.blocks[-2]
    assert " " in middle[other.start : other.end]  # outlined, hollow


def test_consecutive_blocks_are_linked() -> None:
    picture = render_chain(tips(3), 40, 5)
    a, b = picture.blocks[0], picture.blocks[1]
    link = "".join(row[a.end : b.start] for row in picture.rows[: picture.art_rows])
    assert link.strip()  # something is drawn between the boxes


def test_heights_are_labelled_under_blocks() -> None:
    picture = render_chain(tips(5), 78, 5)
    assert picture.rows[-1].split() == [f"{h:,}" for h in range(TIP - 4, TIP + 1)]
    tip_label = next(label for label in picture.labels if label.tip)
    assert tip_label.text == f"{TIP:,}"


def test_crowded_labels_shorten_or_skip_but_never_overlap() -> None:
    picture = render_chain(tips(12), 30, 3)
    labels = sorted(picture.labels, key=lambda label: label.start)
    for left, right in zip(labels, labels[1:], strict=False):
        assert left.start + len(left.text) < right.start
    assert labels[-1].text == f"{TIP:,}"  # the tip keeps its full height


def test_time_between_blocks_when_tall() -> None:
    picture = render_chain(tips(4), 60, 8)
    assert "+10m" in picture.rows[-1]


def test_reorg_marker_sits_after_the_fork_block() -> None:
    blocks = tips(6)
    fork = reorg(fork=TIP - 2)
    picture = render_chain(blocks, 78, 5, fork)
    assert picture.caption == f"reorg depth 1 at {TIP - 2:,}"
    fork_span = next(b for b in picture.blocks if b.height == TIP - 2)
    after = next(b for b in picture.blocks if b.height == TIP - 1)
    assert picture.reorg_col is not None
    assert fork_span.end <= picture.reorg_col < after.start
    assert picture.rows[0][picture.reorg_col] != " "
    assert picture != render_chain(blocks, 78, 5)


def test_reorg_out_of_view_keeps_the_caption() -> None:
    picture = render_chain(tips(6), 12, 2, reorg(fork=TIP - 5))
    assert picture.reorg_col is None
    assert picture.caption


def test_missing_heights_get_a_dotted_link() -> None:
    gap = [
        TipHeight(height=100, hash=block_hash(100), time=1_000),
        TipHeight(height=105, hash=block_hash(105), time=4_000),
    ]
    solid = render_chain(tips(2, top=101), 30, 2)
    dotted = render_chain(gap, 30, 2)
    assert solid.rows != dotted.rows


@pytest.mark.parametrize(("width", "height"), [(10, 2), (10, 1), (1, 1), (3, 4), (0, 0), (5, 0)])
def test_tiny_sizes_degrade(width: int, height: int) -> None:
    picture = render_chain(tips(10), width, height, reorg())
    _check_shape(picture.rows, width, height)
    assert len(picture.blocks) <= max(width, 1)


def test_ten_by_two_still_shows_the_tip() -> None:
    picture = render_chain(tips(10), 10, 2)
    tip, before = picture.tip, picture.blocks[-2]
    assert tip is not None
    tip_cells = [row[tip.start : tip.end] for row in picture.rows]
    assert tip_cells == ["⣶⣶⣶", "⠿⠿⠿"]  # filled from dot row 1 to dot row 6
    assert [row[before.start : before.end] for row in picture.rows] == ["⡖⠒⢲", "⠧⠤⠼"]


@pytest.mark.parametrize(("width", "height"), [(40, 5), (10, 2), (0, 0)])
def test_empty_input_is_blank(width: int, height: int) -> None:
    picture = render_chain([], width, height)
    _check_shape(picture.rows, width, height)
    assert "".join(picture.rows).strip() == ""
    assert picture.blocks == () and picture.tip is None
