"""Local stand-ins for the price APIs, answering in each provider's documented
format on loopback, and misbehaving on demand."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

# Units per USD of the fake world.
FX = {"USD": 1.0, "EUR": 0.9, "GBP": 0.8, "JPY": 150.0, "CHF": 0.88, "CAD": 1.35, "AUD": 1.5}


class FakePriceApis:
    def __init__(self) -> None:
        self.usd: dict[str, float] = {
            "mempool": 60_000.0,
            "coinbase": 60_100.0,
            "kraken": 60_050.0,
            "bitstamp": 59_950.0,
            "coingecko": 60_020.0,
        }
        self.mode: dict[str, str] = {}
        """Provider → ok, 500, 429, 503-date, slow, malformed, endless, html, missing, zero."""
        self.retry_after = "2"
        self.requests: dict[str, list[float]] = defaultdict(list)
        self.url = ""
        self._runner: web.AppRunner | None = None

    def price(self, provider: str, currency: str) -> float:
        return self.usd[provider] * FX[currency]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/prices", self._mempool)
        app.router.add_get("/v2/prices/{pair}/spot", self._coinbase)
        app.router.add_get("/v2/exchange-rates", self._coinbase_fx)
        app.router.add_get("/0/public/Ticker", self._kraken)
        app.router.add_get("/api/v2/ticker/{pair}/", self._bitstamp)
        app.router.add_get("/api/v3/simple/price", self._coingecko)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request, provider: str, body: Any) -> web.StreamResponse:
        self.requests[provider].append(asyncio.get_running_loop().time())
        mode = self.mode.get(provider, "ok")
        if mode == "500":
            return web.json_response({"error": "internal"}, status=500)
        if mode == "429":
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return web.Response(status=429, headers=headers)
        if mode == "503-date":
            return web.Response(status=503, headers={"Retry-After": self.retry_after})
        if mode == "slow":
            await asyncio.sleep(2)
        if mode == "malformed":
            return web.Response(text='{"USD": 6', content_type="application/json")
        if mode == "html":
            return web.Response(text="<html>hi</html>", content_type="text/html")
        if mode == "missing":
            return web.json_response({"unrelated": 1})
        if mode == "endless":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            await response.write(b'{"USD": ')
            with contextlib.suppress(ConnectionError):
                while True:
                    await response.write(b"1" * 65536)
            return response
        return web.json_response(body)

    def _value(self, provider: str, currency: str) -> float:
        return 0.0 if self.mode.get(provider) == "zero" else self.price(provider, currency)

    async def _mempool(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = {"time": 1_700_000_000}
        body |= {c: round(self._value("mempool", c)) for c in FX}
        return await self._answer(request, "mempool", body)

    async def _coinbase(self, request: web.Request) -> web.StreamResponse:
        currency = request.match_info["pair"].split("-")[1]
        amount = f"{self._value('coinbase', currency):.2f}"
        body = {"data": {"amount": amount, "base": "BTC", "currency": currency}}
        return await self._answer(request, "coinbase", body)

    async def _coinbase_fx(self, request: web.Request) -> web.StreamResponse:
        rates = {c: f"{self.price('coinbase', c):.2f}" for c in FX} | {"BTC": "1.0"}
        body = {"data": {"currency": request.query["currency"], "rates": rates}}
        return await self._answer(request, "coinbase", body)

    async def _kraken(self, request: web.Request) -> web.StreamResponse:
        currency = request.query["pair"].removeprefix("XBT")
        name = (
            f"XXBTZ{currency}"
            if currency in ("USD", "EUR", "GBP", "JPY", "CAD")
            else f"XBT{currency}"
        )
        last = f"{self._value('kraken', currency):.1f}"
        ticker = {"a": [last, "1", "1.000"], "b": [last, "1", "1.000"], "c": [last, "0.0010"]}
        return await self._answer(request, "kraken", {"error": [], "result": {name: ticker}})

    async def _bitstamp(self, request: web.Request) -> web.StreamResponse:
        currency = request.match_info["pair"].removeprefix("btc").upper()
        last = f"{self._value('bitstamp', currency):.0f}"
        body = {"timestamp": "1700000000", "open": last, "last": last, "bid": last, "ask": last}
        return await self._answer(request, "bitstamp", body)

    async def _coingecko(self, request: web.Request) -> web.StreamResponse:
        currencies = request.query["vs_currencies"].split(",")
        body = {"bitcoin": {c: self._value("coingecko", c.upper()) for c in currencies}}
        return await self._answer(request, "coingecko", body)


@contextlib.asynccontextmanager
async def fake_price_apis() -> AsyncIterator[FakePriceApis]:
    apis = FakePriceApis()
    await apis.start()
    try:
        yield apis
    finally:
        await apis.stop()
