"""The figure formatting helpers: exact strings, since panels are tight."""

from __future__ import annotations

import pytest

from blocksight_tui.render import format as fmt


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (999, "999"), (1_000, "1,000"), (45_123, "45,123"), (1e6, "1,000,000")],
)
def test_count(n: float, text: str) -> None:
    assert fmt.count(n) == text


@pytest.mark.parametrize(
    ("vbytes", "text"),
    [
        (0, "0 vB"),
        (812, "812 vB"),
        (1_500, "1.50 kvB"),
        (999_960, "1.00 MvB"),  # rounding carries into the next prefix
        (25_300_000, "25.3 MvB"),
        (300_000_000, "300 MvB"),
    ],
)
def test_vsize(vbytes: int, text: str) -> None:
    assert fmt.vsize(vbytes) == text


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [(512, "512 B"), (123_456_789, "123 MB"), (300_000_000, "300 MB"), (712_345_678_901, "712 GB")],
)
def test_size(nbytes: int, text: str) -> None:
    assert fmt.size(nbytes) == text


@pytest.mark.parametrize(
    ("hps", "text"),
    [(9.087e20, "908.7 EH/s"), (1.234e21, "1.234 ZH/s"), (5.5e12, "5.500 TH/s"), (0, "0 H/s")],
)
def test_hashrate(hps: float, text: str) -> None:
    assert fmt.hashrate(hps) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(126_982_285_146_989.3, "127.0 T"), (83_148_355_189_239.77, "83.15 T"), (1.0, "1")],
)
def test_difficulty(value: float, text: str) -> None:
    assert fmt.difficulty(value) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (None, "—"),
        (0.1, "0.10 sat/vB"),
        (1.0, "1.0 sat/vB"),
        (12.44, "12.4 sat/vB"),
        (150.4, "150 sat/vB"),
        (1_234.0, "1,234 sat/vB"),
    ],
)
def test_sat_vb(rate: float | None, text: str) -> None:
    assert fmt.sat_vb(rate) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 m"),
        (192, "3 m 12 s"),
        (3_600, "1 h"),
        (7_500, "2 h 5 m"),
        (90_000, "1 d 1 h"),
        (86_400 * 3, "3 d"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(192, "3 m 12 s ago"), (0, "0 s ago"), (-30, "in 30 s"), (12.9, "12 s ago")],
)
def test_ago(seconds: float, text: str) -> None:
    assert fmt.ago(seconds) == text


@pytest.mark.parametrize(
    ("blocks", "text"),
    [(1, "~10m"), (3, "~30m"), (6, "~1h"), (144, "~1d"), (1_234, "~9d"), (148_766, "~2.8y")],
)
def test_eta_blocks(blocks: int, text: str) -> None:
    assert fmt.eta_blocks(blocks) == text


@pytest.mark.parametrize(
    ("fraction", "digits", "floor", "text"),
    [
        (0.4567, 1, False, "45.7%"),
        (0.41, 0, False, "41%"),
        (1.0, 2, False, "100.00%"),
        (0.9999987, 2, False, "100.00%"),
        (0.9999987, 2, True, "99.99%"),  # progress never rounds up to done
        (0.0, 1, True, "0.0%"),
    ],
)
def test_percent(fraction: float, digits: int, floor: bool, text: str) -> None:
    assert fmt.percent(fraction, digits, floor=floor) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (3.125, "3.125 BTC"),
        (50, "50 BTC"),
        (0.00000001, "0.00000001 BTC"),
        (0.51234567, "0.51234567 BTC"),
        (1_234.5, "1,234.5 BTC"),
        (0, "0 BTC"),
    ],
)
def test_btc(amount: float, text: str) -> None:
    assert fmt.btc(amount) == text


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (104_321.5, "USD", "$104,322"),
        (95_976.0, "EUR", "€95,976"),
        (82_414.2, "GBP", "£82,414"),
        (0.5, "USD", "$0.50"),
        (61_000, "CHF", "61,000 CHF"),
    ],
)
def test_price(value: float, currency: str, text: str) -> None:
    assert fmt.price(value, currency) == text


def test_short_hash() -> None:
    h = "0" * 19 + "2a7c4c1e48d76c5a37902165a270156b7a8d72728a054"
    assert len(h) == 64
    assert fmt.short_hash(h) == "0000…2728a054"
    assert fmt.short_hash("abc") == "abc"


@pytest.mark.parametrize(
    ("label", "value", "width", "text"),
    [
        ("height", "901,234", 20, "height       901,234"),
        ("height", "901,234", 14, "height 901,234"),
        ("height", "901,234", 12, "     901,234"),  # the label goes first
        ("height", "901,234", 5, "901,…"),
    ],
)
def test_pair(label: str, value: str, width: int, text: str) -> None:
    assert fmt.pair(label, value, width) == text
    assert len(fmt.pair(label, value, width)) == width


@pytest.mark.parametrize(
    ("text", "width", "out"), [("abcdef", 6, "abcdef"), ("abcdef", 4, "abc…"), ("abc", 0, "")]
)
def test_truncate(text: str, width: int, out: str) -> None:
    assert fmt.truncate(text, width) == out


@pytest.mark.parametrize(
    ("fraction", "width", "text"),
    [
        (0.0, 4, "    "),
        (0.5, 4, "██  "),
        (1.0, 4, "████"),
        (1.7, 4, "████"),  # clamped
        (-1, 4, "    "),
        (0.5 + 1 / 8, 4, "██▌ "),  # half a cell more
        (0.5 + 1 / 16, 4, "██▎ "),  # a quarter
        (0.5, 0, ""),
    ],
)
def test_bar(fraction: float, width: int, text: str) -> None:
    assert fmt.bar(fraction, width) == text


@pytest.mark.parametrize(
    ("bps", "text"),
    [(None, "—"), (0, "0 B/s"), (340_000, "340 kB/s"), (1_234_567, "1.23 MB/s")],
)
def test_byte_rate(bps: float | None, text: str) -> None:
    assert fmt.byte_rate(bps) == text


@pytest.mark.parametrize(
    ("value", "text"), [(None, "—"), (2.345, "+2.3%"), (-11.96, "-12.0%"), (0.0, "+0.0%")]
)
def test_signed_percent(value: float | None, text: str) -> None:
    assert fmt.signed_percent(value) == text


@pytest.mark.parametrize(
    ("ms", "text"), [(None, "—"), (3.21, "3.2 ms"), (48.3, "48 ms"), (1534, "1.5 s")]
)
def test_millis(ms: float | None, text: str) -> None:
    assert fmt.millis(ms) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [(0, "0"), (0.5, ".5"), (1, "1"), (12.5, "12.5"), (1200, "1.2k"), (2000, "2k")],
)
def test_rate_label(rate: float, text: str) -> None:
    assert fmt.rate_label(rate) == text
