"""The base of every figures panel: one immutable slice in, lines of text out.

The slice lives in a reactive attribute, so setting an equal value does not
redraw. The base decides the states every panel shares (waiting, unavailable,
stale, error) so a subclass only writes the lines for good data; a subclass
that raises is logged once and shown as ``error: …`` in its own box.

A panel has five lines at 80x24 and ten at 120x40. A subclass writes every
line it has, in reading order, and ranks the ones that may go (``Line``);
when the box is short the lowest-ranked lines are left out, not the last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget

from blocksight_tui.events import SourceInfo
from blocksight_tui.render.format import truncate

log = logging.getLogger(__name__)

WAITING = "waiting…"


@dataclass(frozen=True)
class Line:
    """A line that can be left out when the panel is short: the higher the
    rank, the sooner it goes. A plain ``str`` or ``Text`` has rank 0."""

    text: str | Text
    rank: int = 1


Entry = str | Text | Line


def fit(entries: Sequence[Entry], height: int) -> list[str | Text]:
    """The ``height`` entries of lowest rank (the first ones among equals),
    in their order; all of them when the height is not known yet."""
    ranked = [
        (e.rank, i, e.text) if isinstance(e, Line) else (0, i, e) for i, e in enumerate(entries)
    ]
    if 0 < height < len(ranked):
        ranked = sorted(sorted(ranked)[:height], key=lambda item: item[1])
    return [text for _, _, text in ranked]


def unavailable_text(source: SourceInfo) -> str:
    return f"unavailable: {source.reason or 'no reason given'}"


class Panel(Widget):
    TITLE: ClassVar[str] = ""
    FIT: ClassVar[bool] = True
    """Leave out lines to fit the box; off for panels as tall as their
    content (in a scrolling screen), whose height comes from the lines."""

    data: reactive[Any] = reactive(None)
    """The slice this panel renders; subclasses narrow the type."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.border_title = self.TITLE
        self._last_error: str | None = None

    # ---------------------------------------------------------- for subclasses

    def primary(self, data: Any) -> Any:
        """The event whose source decides the panel's state (waiting, stale…)."""
        return data

    def lines(self, data: Any, width: int) -> Sequence[Entry]:
        """The body for data that is present: one entry a line."""
        raise NotImplementedError

    def is_stale(self, data: Any) -> bool:
        event = self.primary(data)
        return event is not None and event.source.state == "stale"

    # ---------------------------------------------------------------- internals

    def watch_data(self, data: Any) -> None:
        if not self.FIT:
            self.refresh(layout=True)  # the height follows the lines
        try:
            event = self.primary(data) if data is not None else None
            unavailable = event is not None and event.source.state == "unavailable"
            off = event is not None and event.source.state == "off"
            stale = data is not None and not (unavailable or off) and self.is_stale(data)
        except Exception:  # the render shows the error; the classes stay as they were
            return
        self.set_class(stale, "-stale")
        self.set_class(unavailable, "-unavailable")
        self.border_subtitle = "stale" if stale else ""

    def render(self) -> RenderResult:
        try:
            text = self._body()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if reason != self._last_error:
                log.exception("%s failed to render", type(self).__name__)
                self._last_error = reason
                # Not during this render: a class change restyles and renders again.
                self.call_later(self.set_class, True, "-error")
            return Text(truncate(f"error: {reason}", 80), style="bold")
        if self._last_error is not None:
            self._last_error = None
            self.call_later(self.set_class, False, "-error")
        return text

    def _body(self) -> Text:
        data = self.data
        event = self.primary(data) if data is not None else None
        if event is None:
            return Text(WAITING, style="dim italic")
        if event.source.state == "unavailable":
            return Text(unavailable_text(event.source), style="italic")
        if event.source.state == "off":
            return Text(event.source.reason or "off", style="dim italic")
        if event.data is None:
            if event.source.state == "stale":
                return Text(f"stale: {event.source.reason or 'no data yet'}", style="italic")
            return Text(WAITING, style="dim italic")
        out = Text(no_wrap=True, overflow="ellipsis")
        entries = self.lines(data, max(self.size.width, 1))
        height = self.size.height if self.FIT else 0
        for i, line in enumerate(fit(entries, height)):
            if i:
                out.append("\n")
            out.append(line)
        return out
