"""Short, fixed-style renderings of the figures a node operator reads.

Panels are about 22 cells wide at 80 columns, so every helper here aims at the
shortest text that is still unambiguous, with the unit always shown.
"""

from __future__ import annotations

import math
from typing import Final

SI_PREFIXES: Final = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")
CURRENCY_SYMBOLS: Final = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
ELLIPSIS: Final = "…"
NO_VALUE: Final = "—"


def count(n: int | float) -> str:
    """12345 → '12,345'."""
    return f"{round(n):,}"


def si(value: float, unit: str = "", digits: int = 3) -> str:
    """A value with an SI prefix and about ``digits`` significant digits: 6.1e20 → '610 E'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".rstrip()
    exp = min(max(int(math.floor(math.log10(abs(value)) / 3)), 0), len(SI_PREFIXES) - 1)
    scaled = value / 1000**exp
    # Rounding can carry into the next prefix (999.96 k → 1.00 M).
    if round(abs(scaled), max(0, digits - 3)) >= 1000 and exp < len(SI_PREFIXES) - 1:
        exp += 1
        scaled = value / 1000**exp
    whole = len(str(int(abs(scaled))))
    decimals = 0 if exp == 0 and float(value).is_integer() else max(0, digits - whole)
    return f"{scaled:.{decimals}f} {SI_PREFIXES[exp]}{unit}".rstrip()


def vsize(vbytes: int) -> str:
    """Virtual size: 812 → '812 vB', 25_300_000 → '25.3 MvB'."""
    return si(vbytes, "vB")


def size(nbytes: int) -> str:
    """Memory or disk, in decimal units as Core's -maxmempool is: 300_000_000 → '300 MB'."""
    return si(nbytes, "B")


def hashrate(hps: float) -> str:
    """Hashes a second: 6.123e20 → '612.3 EH/s'."""
    return si(hps, "H/s", digits=4)


def difficulty(value: float) -> str:
    """Difficulty: 83_148_355_189_239.77 → '83.15 T'."""
    return si(value, "", digits=4)


def fee_rate(sat_per_vb: float | None) -> str:
    """A fee rate without its unit: more decimals for the sub-sat/vB rates."""
    if sat_per_vb is None:
        return NO_VALUE
    if sat_per_vb < 1:
        return f"{sat_per_vb:.2f}"
    if sat_per_vb < 100:
        return f"{sat_per_vb:.1f}"
    return f"{sat_per_vb:,.0f}"


def sat_vb(sat_per_vb: float | None) -> str:
    """12.34 → '12.3 sat/vB'."""
    if sat_per_vb is None:
        return NO_VALUE
    return f"{fee_rate(sat_per_vb)} sat/vB"


def duration(seconds: float) -> str:
    """The two largest units: 192 → '3 m 12 s', 7500 → '2 h 5 m', 90000 → '1 d 1 h'."""
    s = int(abs(seconds))
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3_600)
    minutes, s = divmod(s, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (s, "s")]
    for i, (value, unit) in enumerate(parts):
        if value or unit == "s":
            rest = parts[i + 1] if i + 1 < len(parts) else None
            if rest is None or not rest[0]:
                return f"{value} {unit}"
            return f"{value} {unit} {rest[0]} {rest[1]}"
    return "0 s"  # unreachable: the seconds entry always returns


def ago(seconds: float) -> str:
    """An age: 192 → '3 m 12 s ago'. Block times can be ahead of the local
    clock (up to two hours is valid), so a negative age reads 'in …'."""
    if seconds < 0:
        return f"in {duration(seconds)}"
    return f"{duration(seconds)} ago"


def eta_blocks(blocks: int, spacing_s: int = 600) -> str:
    """The rough time ``blocks`` blocks take: 1 → '~10m', 2016 → '~14d'."""
    s = blocks * spacing_s
    if s < 3_600:
        return f"~{s // 60}m"
    if s < 86_400:
        return f"~{round(s / 3_600)}h"
    if s < 2 * 365 * 86_400:
        return f"~{round(s / 86_400)}d"
    return f"~{s / (365.25 * 86_400):.1f}y"


def percent(fraction: float, digits: int = 1, *, floor: bool = False) -> str:
    """0.4567 → '45.7%'. With ``floor``, 0.99999 never shows as 100%: for progress."""
    value = fraction * 100
    if floor:
        q = 10**digits
        value = math.floor(value * q) / q
    return f"{value:.{digits}f}%"


def btc(amount: float) -> str:
    """An amount to the satoshi, trailing zeros dropped: 3.125 → '3.125 BTC'."""
    text = f"{amount:,.8f}".rstrip("0").rstrip(".")
    return f"{text} BTC"


def price(value: float, currency: str) -> str:
    """67123.4 USD → '$67,123'; below 1,000 with cents; unknown currencies by code."""
    digits = 0 if value >= 1000 else 2
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f"{symbol}{value:,.{digits}f}"
    return f"{value:,.{digits}f} {currency}"


def short_hash(hex_hash: str, head: int = 4, tail: int = 8) -> str:
    """'0000…a1b2c3d4': enough to recognise a block without its 64 digits."""
    if len(hex_hash) <= head + tail + 1:
        return hex_hash
    return f"{hex_hash[:head]}{ELLIPSIS}{hex_hash[-tail:]}"


def truncate(text: str, width: int) -> str:
    """Cut to ``width`` cells, marking the cut with an ellipsis."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + ELLIPSIS


def pair(label: str, value: str, width: int) -> str:
    """``label`` on the left, ``value`` right-aligned, in ``width`` cells.

    When both do not fit, the label goes (a cut label reads worse than none),
    then the value is cut.
    """
    if len(label) + 1 + len(value) > width:
        return truncate(value, width).rjust(width)
    return f"{label}{' ' * (width - len(label) - len(value))}{value}"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar in eighths of a cell: 0.5, 4 → '██  '."""
    if width <= 0:
        return ""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part else ""
    return ("█" * full + partial).ljust(width)[:width]


def byte_rate(bytes_per_s: float | None) -> str:
    """Traffic: 1_234_567 → '1.23 MB/s'."""
    if bytes_per_s is None:
        return NO_VALUE
    return si(bytes_per_s, "B/s")


def signed_percent(value: float | None, digits: int = 1) -> str:
    """A change in percent with its sign: 2.345 → '+2.3%', -0.04 → '-0.0%'."""
    if value is None:
        return NO_VALUE
    return f"{value:+.{digits}f}%"


def millis(ms: float | None) -> str:
    """A latency: 48.3 → '48 ms', 3.21 → '3.2 ms', 1534 → '1.5 s'."""
    if ms is None:
        return NO_VALUE
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.1f} ms"


def rate_label(sat_per_vb: float) -> str:
    """A fee-rate axis tick, as short as it gets: 1 → '1', 0.5 → '.5', 1200 → '1.2k'."""
    if sat_per_vb >= 1000:
        return f"{sat_per_vb / 1000:g}k"
    if sat_per_vb < 1:
        return f"{sat_per_vb:.2g}".lstrip("0") or "0"
    return f"{sat_per_vb:g}"
