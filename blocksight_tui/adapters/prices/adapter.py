"""The price adapter: `price.current`, the median of the fresh quotes in the
display currency, and `fx.rates`, fiat per USD.

All providers share one `aiohttp.ClientSession`, made on the first poll (so a
disabled or never-polled adapter opens nothing), through the SOCKS5 proxy when
one is set, with names resolved by the proxy. A provider that fails keeps its
last quote for `max_age` seconds (stale-while-revalidate); when no quote is
fresh the last price is served, marked stale.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from blocksight_tui.adapters.base import LastGood, Poll, Publication, Wake
from blocksight_tui.adapters.prices.fetch import FetchError, ProviderClient
from blocksight_tui.adapters.prices.providers import (
    COINBASE_FX_PATH,
    MEMPOOL_FX_PATH,
    PROVIDERS,
    BadQuote,
    Provider,
    parse_coinbase_fx,
    parse_mempool_fx,
    plausible,
)
from blocksight_tui.adapters.resilience import BreakerState, CircuitBreaker
from blocksight_tui.events import FxRates, PriceCurrent, PriceQuote, SourceInfo

log = logging.getLogger(__name__)

SOURCE_NAME: Final = "prices"
OUTLIER_FRACTION: Final = 0.05
MIN_FOR_OUTLIERS: Final = 3
"""With two quotes apart, neither can be called the wrong one."""


@dataclass(frozen=True)
class Quote:
    provider: str
    price: float
    at: float  # monotonic


def drop_outliers(quotes: list[Quote], fraction: float = OUTLIER_FRACTION) -> list[Quote]:
    """Drops (and logs) each quote more than `fraction` off the median of the others."""
    if len(quotes) < MIN_FOR_OUTLIERS:
        return quotes
    kept = []
    for quote in quotes:
        others = statistics.median(q.price for q in quotes if q is not quote)
        off = abs(quote.price - others) / others
        if off > fraction:
            log.warning(
                "price from %s (%.2f) dropped: %.1f %% off the others' median %.2f",
                quote.provider, quote.price, off * 100, others,
            )  # fmt: skip
        else:
            kept.append(quote)
    return kept


class PriceAdapter:
    name = SOURCE_NAME

    def __init__(
        self,
        providers: list[str],
        currency: str,
        intervals: Mapping[str, float],
        *,
        urls: Mapping[str, str] | None = None,
        proxy: str | None = None,
        timeout: float = 10.0,
        max_age: float = 300.0,
        requests_per_minute: float = 6.0,
        breaker_factory: Callable[[], CircuitBreaker] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.currency = currency
        self._intervals = intervals
        self._urls = {name: (urls or {}).get(name, PROVIDERS[name].base_url) for name in providers}
        self._providers = [PROVIDERS[name] for name in providers]
        self._proxy = proxy
        self._max_age = max_age
        self._clock = clock
        # A cache shorter than the poll interval: a poll woken early reuses it.
        ttl = min(30.0, intervals["price"] * 0.9)
        self.clients = {
            p.name: ProviderClient(
                p.name,
                timeout=timeout,
                requests_per_minute=requests_per_minute,
                cache_ttl=ttl,
                breaker=breaker_factory() if breaker_factory else None,
                clock=clock,
                wall=wall,
            )
            for p in self._providers
        }
        self._quotes: dict[str, Quote] = {}
        self._reasons: dict[str, str] = {}
        self._last = LastGood(SOURCE_NAME)
        self._price: PriceCurrent | None = None
        self._session: aiohttp.ClientSession | None = None

    def circuits(self) -> dict[str, BreakerState]:
        """For /metrics: each provider's breaker."""
        return {f"{SOURCE_NAME}:{name}": c.breaker.state for name, c in self.clients.items()}

    def polls(self) -> list[Poll]:
        return [
            Poll("prices.price", self._intervals["price"], self.poll_price),
            Poll("prices.fx", self._intervals["fx"], self.poll_fx),
        ]

    async def start(self, wake: Wake) -> None:
        pass

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector: aiohttp.BaseConnector
            if self._proxy:
                from aiohttp_socks import ProxyConnector

                # Names are always resolved by the proxy, so socks5h means socks5 here.
                url = self._proxy.replace("socks5h://", "socks5://", 1)
                connector = ProxyConnector.from_url(url, rdns=True)
            else:
                connector = aiohttp.TCPConnector()
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def _get(self, provider: Provider, path: str) -> tuple[float, Any]:
        url = self._urls[provider.name].rstrip("/") + path
        return await self.clients[provider.name].get_json(self._http(), url)

    # ------------------------------------------------------------ price

    def _refused(self, what: str, exc: Exception) -> None:
        """Logged once per new reason: a provider down for an hour is one line, not 80."""
        reason = str(exc)
        if self._reasons.get(what) != reason:
            log.warning("%s refused: %s", what, reason)
        self._reasons[what] = reason

    def _accepted(self, what: str) -> None:
        if self._reasons.pop(what, None) is not None:
            log.info("%s accepted again", what)

    async def _quote(self, provider: Provider) -> None:
        what = f"price from {provider.name}"
        try:
            at, data = await self._get(provider, provider.path(self.currency))
            price = plausible(provider.parse(data, self.currency), self.currency)
        except (FetchError, BadQuote) as exc:
            self._refused(what, exc)
            return
        self._accepted(what)
        self._quotes[provider.name] = Quote(provider.name, price, at)

    async def poll_price(self) -> list[Publication]:
        asking = [p for p in self._providers if self.currency in p.currencies]
        await asyncio.gather(*(self._quote(p) for p in asking))
        now = self._clock()
        fresh = [q for q in self._quotes.values() if now - q.at <= self._max_age]
        kept = drop_outliers(fresh)
        if not kept:
            reason = f"no fresh {self.currency} quote from {len(asking)} providers"
            if self._price is None:
                return [self._last.failed("price.current", reason)]
            stale = self._price.model_copy(update={"stale": True})
            source = SourceInfo(name=SOURCE_NAME, state="stale", reason=reason)
            return [Publication("price.current", stale, source)]
        self._price = PriceCurrent(
            currency=self.currency,
            price=statistics.median(q.price for q in kept),
            quotes=tuple(
                PriceQuote(provider=q.provider, price=q.price, age_s=max(0.0, now - q.at))
                for q in kept
            ),
        )
        pub = self._last.ok("price.current", self._price)
        detail = ", ".join(q.provider for q in kept)
        return [Publication(pub.type, pub.data, SourceInfo(name=SOURCE_NAME, detail=detail))]

    # ------------------------------------------------------------ fx

    async def poll_fx(self) -> list[Publication]:
        """Coinbase's exchange rates (many currencies), else mempool.space's prices."""
        sources = (("coinbase", COINBASE_FX_PATH, parse_coinbase_fx),
                   ("mempool", MEMPOOL_FX_PATH, parse_mempool_fx))  # fmt: skip
        reasons = []
        for name, path, parse in sources:
            provider = next((p for p in self._providers if p.name == name), None)
            if provider is None:
                continue
            try:
                _, data = await self._get(provider, path)
                rates = parse(data)
            except (FetchError, BadQuote) as exc:
                self._refused(f"FX rates from {name}", exc)
                reasons.append(f"{name}: {exc}")
                continue
            self._accepted(f"FX rates from {name}")
            if len(rates) > 1:
                pub = self._last.ok("fx.rates", FxRates(base="USD", rates=rates))
                return [Publication(pub.type, pub.data, SourceInfo(name=SOURCE_NAME, detail=name))]
            reasons.append(f"{name}: no fiat rates")
        reason = "; ".join(reasons) or "no FX source among the enabled providers"
        return [self._last.failed("fx.rates", reason)]
