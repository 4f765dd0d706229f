"""The price adapter against local stand-ins of the providers: the median, the
outlier dropped, bad answers refused one by one, Retry-After, the breaker, FX."""

from __future__ import annotations

import logging
import random
import statistics
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Any

import pytest

from blocksight_tui.adapters.prices.adapter import PriceAdapter
from blocksight_tui.adapters.resilience import Backoff, CircuitBreaker
from blocksight_tui.events import FxRates, PriceCurrent
from tests.fake_price_apis import FX, FakePriceApis, fake_price_apis

ALL = ["mempool", "coinbase", "kraken", "bitstamp"]
INTERVALS = {"price": 45.0, "fx": 3600.0}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


@pytest.fixture
async def apis() -> AsyncIterator[FakePriceApis]:
    async with fake_price_apis() as apis:
        yield apis


def make(apis: FakePriceApis, clock: Clock, **kwargs: Any) -> PriceAdapter:
    providers = kwargs.pop("providers", ALL)
    kwargs.setdefault("timeout", 1.0)
    kwargs.setdefault("requests_per_minute", 6000.0)
    return PriceAdapter(
        providers,
        kwargs.pop("currency", "USD"),
        INTERVALS,
        urls=dict.fromkeys(providers, apis.url),
        clock=clock,
        wall=lambda: clock.wall,
        **kwargs,
    )


async def price_of(adapter: PriceAdapter) -> tuple[PriceCurrent, str, str | None]:
    [pub] = await adapter.poll_price()
    assert isinstance(pub.data, PriceCurrent)
    return pub.data, pub.source.state, pub.source.reason


async def test_the_price_is_the_median_of_the_fresh_quotes(apis: FakePriceApis) -> None:
    clock = Clock()
    adapter = make(apis, clock)
    try:
        price, state, _ = await price_of(adapter)
    finally:
        await adapter.close()
    assert state == "ok" and not price.stale and price.currency == "USD"
    assert price.price == statistics.median(apis.usd[p] for p in ALL)
    assert {q.provider for q in price.quotes} == set(ALL)
    assert all(q.age_s == 0 for q in price.quotes)


@pytest.mark.parametrize(("currency", "asked"), [("EUR", ALL), ("JPY", ALL[:3])])
async def test_the_display_currency(apis: FakePriceApis, currency: str, asked: list[str]) -> None:
    adapter = make(apis, Clock(), currency=currency)
    try:
        price, _, _ = await price_of(adapter)
    finally:
        await adapter.close()
    assert price.currency == currency
    assert {q.provider for q in price.quotes} == set(asked)
    expected = statistics.median(apis.usd[p] * FX[currency] for p in asked)
    assert price.price == pytest.approx(expected, rel=1e-4)
    assert "bitstamp" in apis.requests or currency == "JPY"


async def test_an_outlier_is_dropped_and_logged(
    apis: FakePriceApis, caplog: pytest.LogCaptureFixture
) -> None:
    apis.usd["kraken"] = 66_000.0  # 10 % above the others
    adapter = make(apis, Clock())
    try:
        with caplog.at_level(logging.WARNING):
            price, _, _ = await price_of(adapter)
    finally:
        await adapter.close()
    assert {q.provider for q in price.quotes} == {"mempool", "coinbase", "bitstamp"}
    kept = ("mempool", "coinbase", "bitstamp")
    assert price.price == statistics.median(apis.usd[p] for p in kept)
    assert "kraken" in caplog.text and "dropped" in caplog.text


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("500", "HTTP 500"),
        ("malformed", "malformed JSON"),
        ("html", "content type"),
        ("missing", "missing field"),
        ("zero", "not plausible"),
        ("endless", "cut"),
        ("slow", "no answer within"),
    ],
)
async def test_a_bad_answer_is_refused_and_the_others_make_the_price(
    apis: FakePriceApis, caplog: pytest.LogCaptureFixture, mode: str, reason: str
) -> None:
    apis.mode["coinbase"] = mode
    adapter = make(apis, Clock(), timeout=0.3)
    try:
        with caplog.at_level(logging.WARNING):
            price, state, _ = await price_of(adapter)
    finally:
        await adapter.close()
    assert state == "ok"
    assert {q.provider for q in price.quotes} == {"mempool", "kraken", "bitstamp"}
    assert price.price == apis.usd["mempool"]  # median of 60000, 60050, 59950
    assert "coinbase" in caplog.text and reason in caplog.text


@pytest.mark.parametrize("as_date", [False, True])
async def test_retry_after_is_honoured(apis: FakePriceApis, as_date: bool) -> None:
    clock = Clock()
    if as_date:
        apis.mode["kraken"] = "503-date"
        apis.retry_after = formatdate(clock.wall + 120, usegmt=True)
    else:
        apis.mode["kraken"] = "429"
        apis.retry_after = "120"
    adapter = make(apis, clock)
    try:
        await price_of(adapter)
        assert len(apis.requests["kraken"]) == 1
        apis.mode["kraken"] = "ok"
        for _ in range(3):
            clock.advance(39)  # 117 s in all: still inside the wait
            price, _, _ = await price_of(adapter)
            assert "kraken" not in {q.provider for q in price.quotes}
        assert len(apis.requests["kraken"]) == 1
        clock.advance(4)
        price, _, _ = await price_of(adapter)
        assert len(apis.requests["kraken"]) == 2
        assert "kraken" in {q.provider for q in price.quotes}
    finally:
        await adapter.close()


async def test_a_429_without_retry_after_waits_a_minute(apis: FakePriceApis) -> None:
    clock = Clock()
    apis.mode["kraken"] = "429"
    apis.retry_after = ""
    adapter = make(apis, clock)
    try:
        await price_of(adapter)
        apis.mode["kraken"] = "ok"
        clock.advance(59)
        await price_of(adapter)
        assert len(apis.requests["kraken"]) == 1
        clock.advance(2)
        price, _, _ = await price_of(adapter)
        assert len(apis.requests["kraken"]) == 2
        assert "kraken" in {q.provider for q in price.quotes}
    finally:
        await adapter.close()


async def test_the_circuit_opens_and_closes(apis: FakePriceApis) -> None:
    clock = Clock()
    apis.mode["bitstamp"] = "500"

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(3, Backoff(base=60, cap=60, rng=random.Random(1)), clock=clock)

    adapter = make(apis, clock, breaker_factory=breaker)
    circuit = adapter.clients["bitstamp"].breaker
    try:
        for _ in range(3):
            await price_of(adapter)
            clock.advance(1)
        assert len(apis.requests["bitstamp"]) == 3 and circuit.state == "open"
        await price_of(adapter)
        assert len(apis.requests["bitstamp"]) == 3  # open: not asked
        apis.mode["bitstamp"] = "ok"
        clock.advance(61)
        assert circuit.state == "half-open"
        price, _, _ = await price_of(adapter)
        assert len(apis.requests["bitstamp"]) == 4 and circuit.state == "closed"
        assert "bitstamp" in {q.provider for q in price.quotes}
    finally:
        await adapter.close()


async def test_stale_while_revalidate_then_stale(apis: FakePriceApis) -> None:
    clock = Clock()
    adapter = make(apis, clock, max_age=100.0)
    try:
        first, _, _ = await price_of(adapter)
        for provider in ALL:
            apis.mode[provider] = "500"
        clock.advance(50)  # past the cache, within max_age: the last quotes serve
        price, state, _ = await price_of(adapter)
        assert state == "ok" and price.price == first.price
        assert all(q.age_s == 50 for q in price.quotes)
        clock.advance(60)
        price, state, reason = await price_of(adapter)
        assert state == "stale" and price.stale and price.price == first.price
        assert reason is not None and "no fresh USD quote" in reason
    finally:
        await adapter.close()


async def test_the_cache_spares_a_poll_woken_early(apis: FakePriceApis) -> None:
    clock = Clock()
    adapter = make(apis, clock)
    try:
        await price_of(adapter)
        clock.advance(10)
        price, _, _ = await price_of(adapter)
        assert all(len(apis.requests[p]) == 1 for p in ALL)
        assert all(q.age_s == 10 for q in price.quotes)  # the age of the answer, not the poll
    finally:
        await adapter.close()


async def test_nothing_answers_at_first(apis: FakePriceApis) -> None:
    for provider in ALL:
        apis.mode[provider] = "500"
    adapter = make(apis, Clock())
    try:
        [pub] = await adapter.poll_price()
    finally:
        await adapter.close()
    assert pub.data is None and pub.source.state == "unavailable"


async def test_fx_rates_from_coinbase_else_mempool(apis: FakePriceApis) -> None:
    clock = Clock()
    adapter = make(apis, clock)
    try:
        [pub] = await adapter.poll_fx()
        assert isinstance(pub.data, FxRates) and pub.source.detail == "coinbase"
        assert pub.data.base == "USD" and pub.data.rates["USD"] == 1.0
        assert pub.data.rates["EUR"] == pytest.approx(0.9, rel=1e-4)
        assert set(FX) <= set(pub.data.rates)
        apis.mode["coinbase"] = "500"
        clock.advance(3600)
        [pub] = await adapter.poll_fx()
        assert isinstance(pub.data, FxRates) and pub.source.detail == "mempool"
        assert pub.data.rates["JPY"] == pytest.approx(150.0, rel=1e-3)
    finally:
        await adapter.close()


async def test_one_session_for_every_provider(apis: FakePriceApis) -> None:
    adapter = make(apis, Clock())
    try:
        await adapter.poll_price()
        session = adapter._session
        await adapter.poll_fx()
        assert session is not None and adapter._session is session
    finally:
        await adapter.close()
    assert session.closed


async def test_the_rate_limiter_holds_back_a_provider(apis: FakePriceApis) -> None:
    """One request a minute to each: the FX poll right after the price poll
    cannot ask Coinbase again, and takes mempool.space's cached prices."""
    adapter = make(apis, Clock(), requests_per_minute=1.0)
    try:
        await adapter.poll_price()
        [pub] = await adapter.poll_fx()
    finally:
        await adapter.close()
    assert len(apis.requests["coinbase"]) == 1 and len(apis.requests["mempool"]) == 1
    assert isinstance(pub.data, FxRates) and pub.source.detail == "mempool"


async def test_a_lasting_failure_is_logged_once(
    apis: FakePriceApis, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    apis.mode["kraken"] = "500"
    breaker = lambda: CircuitBreaker(100, clock=clock)  # noqa: E731 - keep asking
    adapter = make(apis, clock, breaker_factory=breaker)
    try:
        with caplog.at_level(logging.INFO):
            for _ in range(4):
                await price_of(adapter)
                clock.advance(45)
            apis.mode["kraken"] = "ok"
            await price_of(adapter)
    finally:
        await adapter.close()
    assert len(apis.requests["kraken"]) == 5
    assert caplog.text.count("price from kraken refused: HTTP 500") == 1
    assert "price from kraken accepted again" in caplog.text
