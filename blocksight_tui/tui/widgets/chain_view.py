"""The chain, drawn in braille through the line API.

The picture is a pure function of (blocks, summaries, reorg, size), computed
only when one of those changes; each row becomes a cached ``Strip``, and only
the rows whose text changed are refreshed, as Textual's ``Log`` does for its
lines. Tips arrive before their summaries: a new block is drawn at once and
gains its pool and fees when the summary follows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.events import Resize
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from blocksight_tui.events import BlockSummary, ChainReorg, TipHeight, TipHeightEvent
from blocksight_tui.render.blocks import merge_blocks
from blocksight_tui.render.chain import ChainPicture, render_chain
from blocksight_tui.tui.widgets.panel import WAITING, unavailable_text

log = logging.getLogger(__name__)

TITLE = "chain"


@dataclass(frozen=True)
class ChainSlice:
    blocks: tuple[TipHeight, ...] = ()
    last_reorg: ChainReorg | None = None
    tip: TipHeightEvent | None = None
    """The latest tip event, for its source state."""
    summaries: tuple[BlockSummary, ...] = ()
    """Recent blocks in detail, newest first, as the node summarised them."""


class ChainView(Widget):
    COMPONENT_CLASSES = {
        "chain-view--block",
        "chain-view--tip",
        "chain-view--label",
        "chain-view--tip-label",
        "chain-view--reorg",
        "chain-view--message",
        "chain-view--detail",
        "chain-view--tip-detail",
    }

    data: reactive[ChainSlice | None] = reactive(None, repaint=False)
    """Set from above; the watcher refreshes only the rows that changed."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.border_title = TITLE
        self._rows: tuple[str, ...] = ()
        self._kinds: tuple[tuple[str, ...], ...] = ()
        self._key: tuple[object, ...] | None = None
        self._strips: dict[int, Strip] = {}

    # ----------------------------------------------------------- recomputing

    def watch_data(self) -> None:
        self._recompute()

    def on_resize(self, event: Resize) -> None:
        self._recompute()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _recompute(self) -> None:
        width, height = self.size.width, self.size.height
        key = (self.data, width, height)
        if key == self._key:
            return
        resized = self._key is None or self._key[1:] != (width, height)
        self._key = key
        try:
            rows, kinds, caption, legend = self._picture(width, height)
            tip = self.data.tip if self.data is not None else None
            stale = tip is not None and tip.source.state == "stale"
        except Exception as exc:
            log.exception("chain view failed to draw")
            rows, kinds, caption = self._message(f"error: {type(exc).__name__}: {exc}", width)
            legend, stale = "", False
        old = list(zip(self._rows, self._kinds, strict=True))
        new = list(zip(rows, kinds, strict=True))
        self._rows, self._kinds = rows, kinds
        self.border_subtitle = caption
        self.border_title = f"{TITLE} · {legend}" if legend else TITLE
        self.set_class(stale, "-stale")
        if resized or len(old) != len(new):
            self._strips.clear()
            self.refresh()
            return
        for y, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, self.size.width, 1))

    def _picture(
        self, width: int, height: int
    ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], str, str]:
        data = self.data
        tip = data.tip if data is not None else None
        blocks = merge_blocks(data.blocks, data.summaries) if data is not None else ()
        if data is None or (not blocks and tip is None):
            return (*self._message(WAITING, width), "")
        if tip is not None and tip.source.state == "unavailable":
            return (*self._message(unavailable_text(tip.source), width), "")
        if not blocks:
            return (*self._message(WAITING, width), "")
        picture = render_chain(blocks, width, height, data.last_reorg)
        caption = picture.caption
        if tip is not None and tip.source.state == "stale":
            caption = "stale" + (f" · {caption}" if caption else "")
        legend = picture.legend if width >= len(TITLE) + len(picture.legend) + 8 else ""
        return picture.rows, _kinds(picture), caption, legend

    def _message(
        self, text: str, width: int
    ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], str]:
        row = text[:width].ljust(width)
        return (row,), (("message",) * width,), ""

    # -------------------------------------------------------------- drawing

    def render_line(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strip(y)
            self._strips[y] = strip
        return strip

    def _strip(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y >= len(self._rows):
            return Strip.blank(width, base)
        text, kinds = self._rows[y], self._kinds[y]
        segments: list[Segment] = []
        start = 0
        for x in range(1, len(text) + 1):
            if x == len(text) or kinds[x] != kinds[start]:
                segments.append(Segment(text[start:x], base + self._style(kinds[start])))
                start = x
        return Strip(segments, len(text)).adjust_cell_length(width, base)

    def _style(self, kind: str) -> Style:
        return self.get_component_rich_style(f"chain-view--{kind}", partial=True, default=Style())


def _kinds(picture: ChainPicture) -> tuple[tuple[str, ...], ...]:
    """The component each cell is styled with."""
    out = []
    tip = picture.tip
    for y, row in enumerate(picture.rows):
        if y < picture.art_rows:
            kinds = ["block"] * len(row)
            if tip is not None:
                kinds[tip.start : tip.end] = ["tip"] * (tip.end - tip.start)
            if picture.reorg_col is not None:
                kinds[picture.reorg_col] = "reorg"
            for detail in picture.details:
                if detail.row == y:
                    end = detail.start + len(detail.text)
                    kind = "tip-detail" if detail.tip else "detail"
                    kinds[detail.start : end] = [kind] * len(detail.text)
        else:
            kinds = ["label"] * len(row)
            for label in picture.labels:
                if label.row == y and label.tip:
                    end = label.start + len(label.text)
                    kinds[label.start : end] = ["tip-label"] * len(label.text)
        out.append(tuple(kinds))
    return tuple(out)
