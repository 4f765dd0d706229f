"""Each provider's documented endpoint and answer, and one parser per answer.

A parser takes decoded JSON and returns a price, or raises `BadQuote` with a
reason short enough for a log line. Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

CURRENCIES: Final[tuple[str, ...]] = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD")
"""Display currencies: those at least three providers quote directly."""

FX_CURRENCIES: Final[tuple[str, ...]] = CURRENCIES + (
    "NZD", "SEK", "NOK", "DKK", "PLN", "CZK", "HKD", "SGD", "KRW", "INR", "BRL", "MXN", "ZAR",
)  # fmt: skip

# Rough units per USD, only to tell an absurd price from a real one.
_ROUGH_PER_USD: Final[Mapping[str, float]] = {
    "USD": 1.0, "EUR": 0.9, "GBP": 0.8, "JPY": 150.0, "CHF": 0.9, "CAD": 1.4, "AUD": 1.5,
}  # fmt: skip
PLAUSIBLE_USD: Final = (100.0, 10_000_000.0)


class BadQuote(ValueError):
    """An answer that cannot be a price; the message says why."""


def number(value: Any, what: str) -> float:
    """A finite number from a JSON number or a decimal string (the exchanges' way)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadQuote(f"{what} is {type(value).__name__}, not a number")
    try:
        result = float(value)
    except ValueError:
        raise BadQuote(f"{what} {value!r:.30} is not a number") from None
    if not math.isfinite(result):
        raise BadQuote(f"{what} is not finite")
    return result


def plausible(price: float, currency: str) -> float:
    """Refuses a negative, zero or absurd price (outside 100..10M USD-equivalent)."""
    low, high = PLAUSIBLE_USD
    rough = _ROUGH_PER_USD.get(currency, 1.0)
    if price <= 0 or not low * rough / 2 <= price <= high * rough * 2:
        raise BadQuote(f"price {price:g} {currency} is not plausible")
    return price


def _field(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            raise BadQuote(f"missing field {'.'.join(path)}")
        data = data[key]
    return data


def parse_mempool(data: Any, currency: str) -> float:
    """`/api/v1/prices`: `{"time": 1703252411, "USD": 43753, "EUR": 40545, ...}`."""
    return number(_field(data, currency), currency)


def parse_coinbase(data: Any, currency: str) -> float:
    """`/v2/prices/BTC-USD/spot`:
    `{"data": {"amount": "43753.21", "base": "BTC", "currency": "USD"}}`."""
    quoted = _field(data, "data", "currency")
    if quoted != currency:
        raise BadQuote(f"quoted in {quoted!r:.10}, not {currency}")
    return number(_field(data, "data", "amount"), "data.amount")


def parse_kraken(data: Any, currency: str) -> float:
    """`/0/public/Ticker?pair=XBTUSD`:
    `{"error": [], "result": {"XXBTZUSD": {"c": ["43753.2", "0.01"], ...}}}`.

    The result key is Kraken's own pair name (XXBTZUSD, XBTCHF...): the only one is taken.
    """
    errors = _field(data, "error")
    if errors:
        raise BadQuote(f"Kraken error {errors!r:.60}")
    result = _field(data, "result")
    if not isinstance(result, Mapping) or len(result) != 1:
        raise BadQuote("result is not one pair")
    ticker = next(iter(result.values()))
    last = _field(ticker, "c")
    if not isinstance(last, list) or not last:
        raise BadQuote("c is not [price, volume]")
    return number(last[0], "c[0]")


def parse_bitstamp(data: Any, currency: str) -> float:
    """`/api/v2/ticker/btcusd/`: `{"last": "43753", "timestamp": "1703252411", ...}`."""
    return number(_field(data, "last"), "last")


def parse_coingecko(data: Any, currency: str) -> float:
    """`/api/v3/simple/price?ids=bitcoin&vs_currencies=usd`: `{"bitcoin": {"usd": 43753}}`."""
    return number(_field(data, "bitcoin", currency.lower()), f"bitcoin.{currency.lower()}")


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    path: Callable[[str], str]
    parse: Callable[[Any, str], float]
    currencies: frozenset[str]


PROVIDERS: Final[Mapping[str, Provider]] = {
    p.name: p
    for p in (
        Provider(
            "mempool",
            "https://mempool.space",
            lambda c: "/api/v1/prices",
            parse_mempool,
            frozenset(CURRENCIES),
        ),
        Provider(
            "coinbase",
            "https://api.coinbase.com",
            lambda c: f"/v2/prices/BTC-{c}/spot",
            parse_coinbase,
            frozenset(CURRENCIES),
        ),
        Provider(
            "kraken",
            "https://api.kraken.com",
            lambda c: f"/0/public/Ticker?pair=XBT{c}",
            parse_kraken,
            frozenset(CURRENCIES),
        ),
        Provider(
            "bitstamp",
            "https://www.bitstamp.net",
            lambda c: f"/api/v2/ticker/btc{c.lower()}/",
            parse_bitstamp,
            frozenset({"USD", "EUR", "GBP"}),
        ),
        Provider(
            "coingecko",
            "https://api.coingecko.com",
            lambda c: f"/api/v3/simple/price?ids=bitcoin&vs_currencies={c.lower()}",
            parse_coingecko,
            frozenset(CURRENCIES),
        ),
    )
}
DEFAULT_PROVIDERS: Final[tuple[str, ...]] = ("mempool", "coinbase", "kraken", "bitstamp")

COINBASE_FX_PATH: Final = "/v2/exchange-rates?currency=BTC"
MEMPOOL_FX_PATH: Final = "/api/v1/prices"


def fx_from_btc_rates(rates: Mapping[str, Any]) -> dict[str, float]:
    """Fiat per USD from fiat per BTC (Coinbase's exchange rates, mempool's prices)."""
    usd = number(rates.get("USD"), "USD rate")
    if usd <= 0:
        raise BadQuote("USD rate is not positive")
    out: dict[str, float] = {}
    for code in FX_CURRENCIES:
        if code in rates:
            try:
                value = number(rates[code], f"{code} rate")
            except BadQuote:
                continue
            if value > 0:
                out[code] = value / usd
    return out


def parse_coinbase_fx(data: Any) -> dict[str, float]:
    """`/v2/exchange-rates?currency=BTC`:
    `{"data": {"currency": "BTC", "rates": {"USD": "43753.2", ...}}}`."""
    if _field(data, "data", "currency") != "BTC":
        raise BadQuote("exchange rates are not per BTC")
    rates = _field(data, "data", "rates")
    if not isinstance(rates, Mapping):
        raise BadQuote("data.rates is not an object")
    return fx_from_btc_rates(rates)


def parse_mempool_fx(data: Any) -> dict[str, float]:
    if not isinstance(data, Mapping):
        raise BadQuote("prices is not an object")
    return fx_from_btc_rates(data)
