"""The providers' documented answers, and what each parser refuses."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import pytest

from blocksight_tui.adapters.prices.fetch import retry_after_seconds
from blocksight_tui.adapters.prices.providers import (
    PROVIDERS,
    BadQuote,
    parse_coinbase_fx,
    parse_mempool_fx,
    plausible,
)
from blocksight_tui.cli import parse_command_line

DOCUMENTED: list[tuple[str, str, Any, float]] = [
    ("mempool", "USD", {"time": 1703252411, "USD": 43753, "EUR": 40545, "GBP": 37528}, 43753),
    ("mempool", "EUR", {"time": 1703252411, "USD": 43753, "EUR": 40545}, 40545),
    (
        "coinbase",
        "USD",
        {"data": {"amount": "43753.21", "base": "BTC", "currency": "USD"}},
        43753.21,
    ),
    (
        "kraken",
        "USD",
        {"error": [], "result": {"XXBTZUSD": {"a": ["1", "1", "1"], "c": ["43753.2", "0.01"]}}},
        43753.2,
    ),
    ("kraken", "CHF", {"error": [], "result": {"XBTCHF": {"c": ["38000.0", "0.5"]}}}, 38000.0),
    ("bitstamp", "USD", {"timestamp": "1703252411", "last": "43750", "bid": "43749"}, 43750),
    ("coingecko", "EUR", {"bitcoin": {"eur": 40545.5}}, 40545.5),
]


@pytest.mark.parametrize(("provider", "currency", "body", "price"), DOCUMENTED)
def test_documented_answers_parse(provider: str, currency: str, body: Any, price: float) -> None:
    assert PROVIDERS[provider].parse(body, currency) == price


@pytest.mark.parametrize(
    ("provider", "body", "reason"),
    [
        ("mempool", {"time": 1, "EUR": 1}, "missing field USD"),
        ("mempool", {"USD": "n/a"}, "not a number"),
        ("mempool", {"USD": True}, "not a number"),
        ("mempool", [], "missing field"),
        ("coinbase", {"data": {"amount": "1", "currency": "EUR"}}, "not USD"),
        ("coinbase", {"data": {"currency": "USD"}}, "missing field data.amount"),
        ("kraken", {"error": ["EQuery:Unknown asset pair"], "result": {}}, "Kraken error"),
        ("kraken", {"error": [], "result": {"XXBTZUSD": {"c": []}}}, "c is not"),
        ("bitstamp", {"last": None}, "NoneType"),
        ("coingecko", {"bitcoin": {}}, "missing field bitcoin.usd"),
    ],
)
def test_bad_answers_are_refused_with_a_reason(provider: str, body: Any, reason: str) -> None:
    with pytest.raises(BadQuote, match=reason):
        PROVIDERS[provider].parse(body, "USD")


@pytest.mark.parametrize(
    ("price", "currency", "ok"),
    [
        (60_000, "USD", True),
        (9_000_000, "JPY", True),
        (0, "USD", False),
        (-5, "USD", False),
        (10, "USD", False),
        (1e9, "USD", False),
        (float("inf"), "USD", False),
    ],
)
def test_absurd_prices_are_refused(price: float, currency: str, ok: bool) -> None:
    if ok:
        assert plausible(price, currency) == price
    else:
        with pytest.raises(BadQuote):
            plausible(price, currency)


def test_fx_from_coinbase_and_mempool() -> None:
    coinbase = {"data": {"currency": "BTC", "rates": {"USD": "50000", "EUR": "45000", "X": "1"}}}
    assert parse_coinbase_fx(coinbase) == {"USD": 1.0, "EUR": 0.9}
    assert parse_mempool_fx({"time": 1, "USD": 50000, "JPY": 7_500_000}) == {
        "USD": 1.0,
        "JPY": 150.0,
    }
    with pytest.raises(BadQuote):
        parse_coinbase_fx({"data": {"currency": "USD", "rates": {}}})


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("120", 0.0) == 120.0
    now = 1_700_000_000.0
    assert retry_after_seconds(formatdate(now + 90, usegmt=True), now) == pytest.approx(90)
    assert retry_after_seconds(formatdate(now - 90, usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_cli_price_flags(capsys: pytest.CaptureFixture[str]) -> None:
    settings = parse_command_line(["--no-price", "--currency", "eur"], environ={}).settings
    assert not settings.prices.enabled and settings.prices.currency == "EUR"
    with pytest.raises(SystemExit) as info:
        parse_command_line(["--currency", "XYZ"], environ={})
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--currency" in err and "unknown currency" in err


def test_price_settings() -> None:
    from blocksight_tui.settings import SettingsError, load_settings

    env = {"BLOCKSIGHT_PRICES__CURRENCY": "chf"}
    assert load_settings(environ=env).prices.currency == "CHF"
    for bad, words in [
        ({"providers": ["mtgox"]}, "unknown provider 'mtgox'"),
        ({"urls": {"mtgox": "http://x"}}, "unknown provider"),
        ({"proxy": "127.0.0.1:9050"}, "prices.proxy"),
        ({"currency": "BTC"}, "unknown currency"),
    ]:
        with pytest.raises(SettingsError, match=words):
            load_settings({"prices": bad}, environ={})
