"""Recent blocks: tips merged with their summaries, pool names that fit, the
blocks table, and the chain picture with details inside the boxes."""

from __future__ import annotations

import pytest

from blocksight_tui.events import BlockSummary, TipHeight
from blocksight_tui.render.blocks import (
    block_table,
    fullness,
    has_details,
    median_fee,
    merge_blocks,
    shorten_pool,
    table_columns,
)
from blocksight_tui.render.chain import DETAIL_BOX_CELLS, render_chain
from tests.tui_support import NOW, TIP, block_hash, summaries, tips


def test_tips_get_the_summary_with_their_hash() -> None:
    chain = tips(4)
    merged = merge_blocks(chain, summaries(chain))
    assert [b.height for b in merged] == [t.height for t in chain]
    assert all(has_details(b) for b in merged)


def test_a_tip_before_its_summary_is_drawn_bare() -> None:
    chain = tips(4)
    merged = merge_blocks(chain, summaries(chain[:-1]))
    assert merged[-1].height == TIP and not has_details(merged[-1])
    assert has_details(merged[-2])


def test_a_summary_of_another_branch_is_not_attached() -> None:
    chain = tips(3)
    other = summaries(chain)[0].model_copy(update={"hash": block_hash(TIP, salt=9)})
    merged = merge_blocks(chain, (other,))
    assert merged[-1].hash == chain[-1].hash and not has_details(merged[-1])


def test_older_summaries_extend_the_tips_when_they_link() -> None:
    chain = tips(8)
    merged = merge_blocks(chain[-2:], summaries(chain))
    assert [b.height for b in merged] == [t.height for t in chain]


def test_older_summaries_that_do_not_link_stay_out() -> None:
    chain = tips(8)
    forked = chain[-2].model_copy(update={"previous_hash": block_hash(TIP - 2, salt=5)})
    merged = merge_blocks([forked, chain[-1]], summaries(chain))
    assert [b.height for b in merged] == [TIP - 1, TIP]


def test_without_tips_the_summaries_stand_alone_oldest_first() -> None:
    merged = merge_blocks([], summaries(tips(3)))
    assert [b.height for b in merged] == [TIP - 2, TIP - 1, TIP]


@pytest.mark.parametrize(
    ("name", "width", "short"),
    [
        ("Foundry USA", 7, "Foundry"),
        ("Foundry USA", 11, "Foundry USA"),
        ("MARA Pool", 7, "MARA"),
        ("SpiderPool", 7, "Spider"),
        ("Binance Pool", 7, "Binance"),
        ("SECPOOL", 7, "SECPOOL"),
        ("Mining Squared", 7, "Mining²"),
        ("Some Very Long Name", 7, "Some"),
        ("Unbreakablename", 7, "Unbrea…"),
    ],
)
def test_pool_names_shorten_to_fit(name: str, width: int, short: str) -> None:
    assert shorten_pool(name, width) == short


def test_fullness_and_median() -> None:
    block = summaries(tips(1))[0]
    assert fullness(block) == pytest.approx(0.89825)
    assert median_fee(block) == 5.5
    bare = BlockSummary(height=1, hash=block_hash(1), time=1)
    assert fullness(bare) is None and median_fee(bare) is None


def test_table_drops_columns_before_the_pool_goes() -> None:
    wide = [c.title for c in table_columns(120)]
    assert wide == ["height", "age", "txs", "size", "full", "median", "p10–p90", "fees BTC", "pool"]
    narrow = [c.title for c in table_columns(50)]
    assert "size" not in narrow and narrow[0] == "height" and narrow[-1] == "pool"
    assert table_columns(50)[-1].width >= 10


def test_block_table_rows() -> None:
    blocks = list(summaries(tips(6)))  # newest first, as the screen lists them
    header, rows = block_table(blocks, NOW, 78)
    assert header.split()[:3] == ["height", "age", "txs"]
    assert all(len(row) <= 78 for row in [header, *rows])
    first = rows[0]
    for cell in (f"{TIP:,}", "3m", "3,555", "1.65 MB", "99%", "10.5", "8.0–36.0", "0.0260"):
        assert cell in first, (cell, first)
    assert "Foundry USA" in first
    assert "? /bitcoin solo/" in rows[-1]  # an unknown pool shows its tag


def test_block_table_with_bare_blocks_shows_dashes() -> None:
    bare = [BlockSummary(height=5, hash=block_hash(5), time=NOW - 30)]
    _, rows = block_table(bare, NOW, 78)
    assert rows[0].split()[:3] == ["5", "30s", "—"]


# ------------------------------------------------------------ the picture


def test_details_go_inside_wider_boxes() -> None:
    chain = tips(6)
    picture = render_chain(merge_blocks(chain, summaries(chain)), 76, 5)
    assert picture.legend
    spans = picture.blocks
    assert all(s.end - s.start == DETAIL_BOX_CELLS for s in spans)
    texts = {(d.row, d.text) for d in picture.details}
    assert (1, "Foundry") in texts and (2, "10.5") in texts
    tip = picture.tip
    assert tip is not None
    assert "Foundry" in picture.rows[1][tip.start : tip.end]
    assert picture.rows[-1].split()[-1] == f"{TIP:,}"


def test_the_weight_gauge_reads_how_full() -> None:
    chain = tips(6)
    picture = render_chain(merge_blocks(chain, summaries(chain)), 76, 5)
    bottom = picture.rows[3]
    oldest, newest = picture.blocks[0], picture.blocks[-1]
    light = bottom[oldest.start : oldest.end]  # 90 % full
    heavy = bottom[newest.start : newest.end]  # 99.8 % full
    assert light.count("⠿") < heavy.count("⠿")


def test_a_tip_without_its_summary_is_an_empty_box_among_detailed_ones() -> None:
    chain = tips(6)
    picture = render_chain(merge_blocks(chain, summaries(chain[:-1])), 76, 5)
    tip = picture.tip
    assert tip is not None
    assert not any(d.start >= tip.start for d in picture.details)
    assert picture.rows[1][tip.start + 1 : tip.end - 1].strip() == ""


def test_tall_pictures_add_tx_and_fee_rows() -> None:
    chain = tips(6)
    picture = render_chain(merge_blocks(chain, summaries(chain)), 116, 10)
    text = "\n".join(picture.rows)
    assert "3,555 tx" in text and "0.026 BTC" in text and "+10m" in text
    assert len(picture.rows) == 10 and all(len(r) == 116 for r in picture.rows)


@pytest.mark.parametrize(("width", "height"), [(76, 3), (20, 5), (10, 2)])
def test_without_room_for_details_the_plain_picture_stays(width: int, height: int) -> None:
    chain = tips(6)
    detailed = render_chain(merge_blocks(chain, summaries(chain)), width, height)
    plain = render_chain(chain, width, height)
    assert detailed.rows == plain.rows and not detailed.details and not detailed.legend


def test_plain_tips_draw_as_before() -> None:
    chain: list[TipHeight] = tips(6)
    assert render_chain(chain, 76, 5) == render_chain(merge_blocks(chain, ()), 76, 5)
