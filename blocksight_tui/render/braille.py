"""A braille dot canvas: every terminal cell holds a 2×4 grid of dots.

The cell's glyph is ``chr(0x2800 + bits)``, with one bit per dot as in the
Unicode braille block (and drawille). Dots are only ever OR-merged, so shapes
drawn over each other combine instead of erasing. Dots outside the canvas are
clipped silently: callers can draw shapes that run off the edge, which keeps the
layout arithmetic of the chain renderer simple at tiny sizes.
"""

from __future__ import annotations

from typing import Final

BRAILLE_BASE: Final = 0x2800

# DOT_BITS[y][x] for the dot at column x (0..1), row y (0..3) of a cell.
DOT_BITS: Final[tuple[tuple[int, int], ...]] = (
    (0x01, 0x08),
    (0x02, 0x10),
    (0x04, 0x20),
    (0x40, 0x80),
)


class BrailleCanvas:
    """A ``width`` × ``height`` cell canvas, that is ``2·width`` × ``4·height`` dots.

    Dot coordinates grow right (x) and down (y) from the top-left dot.
    """

    __slots__ = ("width", "height", "_cells")

    def __init__(self, width: int, height: int) -> None:
        self.width = max(0, width)
        self.height = max(0, height)
        self._cells = bytearray(self.width * self.height)

    @property
    def dot_width(self) -> int:
        return self.width * 2

    @property
    def dot_height(self) -> int:
        return self.height * 4

    def set(self, x: int, y: int) -> None:
        """Raise the dot at (x, y); a dot outside the canvas is ignored."""
        if 0 <= x < self.dot_width and 0 <= y < self.dot_height:
            row, dy = divmod(y, 4)
            col, dx = divmod(x, 2)
            self._cells[row * self.width + col] |= DOT_BITS[dy][dx]

    def get(self, x: int, y: int) -> bool:
        if not (0 <= x < self.dot_width and 0 <= y < self.dot_height):
            return False
        row, dy = divmod(y, 4)
        col, dx = divmod(x, 2)
        return bool(self._cells[row * self.width + col] & DOT_BITS[dy][dx])

    def cell(self, col: int, row: int) -> int:
        """The dot bits of one cell (0 for an empty or out-of-range cell)."""
        if 0 <= col < self.width and 0 <= row < self.height:
            return self._cells[row * self.width + col]
        return 0

    def line(self, x0: int, y0: int, x1: int, y1: int, *, step: int = 1) -> None:
        """A straight line with both ends included (Bresenham).

        With ``step`` > 1 only every step-th dot is raised: a dotted line.
        """
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx = 1 if x0 < x1 else -1
        sy = 1 if y0 < y1 else -1
        err = dx + dy
        x, y, n = x0, y0, 0
        while True:
            if n % step == 0:
                self.set(x, y)
            if x == x1 and y == y1:
                return
            n += 1
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x += sx
            if e2 <= dx:
                err += dx
                y += sy

    def rect(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """The outline of the rectangle with corners (x0, y0) and (x1, y1), inclusive."""
        self.line(x0, y0, x1, y0)
        self.line(x0, y1, x1, y1)
        self.line(x0, y0, x0, y1)
        self.line(x1, y0, x1, y1)

    def fill_rect(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Every dot of the rectangle with corners (x0, y0) and (x1, y1), inclusive."""
        xa, xb = sorted((x0, x1))
        ya, yb = sorted((y0, y1))
        for y in range(max(ya, 0), min(yb, self.dot_height - 1) + 1):
            for x in range(max(xa, 0), min(xb, self.dot_width - 1) + 1):
                self.set(x, y)

    def clear(self) -> None:
        self._cells = bytearray(self.width * self.height)

    def rows(self, blank: str = " ") -> list[str]:
        """One string per cell row; a cell without dots is ``blank``.

        A space rather than U+2800 by default: some terminal fonts draw the empty
        braille pattern as visible dots.
        """
        out = []
        for row in range(self.height):
            start = row * self.width
            cells = self._cells[start : start + self.width]
            out.append("".join(chr(BRAILLE_BASE + b) if b else blank for b in cells))
        return out
