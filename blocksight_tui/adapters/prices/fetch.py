"""Polite HTTP for one provider: a rate limiter, `Retry-After` honoured, a
circuit breaker, a short cache, a timeout, and a bounded body that must be JSON.

Every refusal is a `FetchError` whose message is the reason shown and logged;
no request goes out while the provider asked us to wait or the breaker is open.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from typing import Any, Final

import aiohttp
from aiohttp_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
from aiolimiter import AsyncLimiter

from blocksight_tui.adapters.resilience import Backoff, CircuitBreaker
from blocksight_tui.hosts import connection_failure

MAX_BODY: Final = 256 * 1024
"""Coinbase's exchange rates, the largest answer, are a few kilobytes."""
JSON_TYPES: Final = ("application/json", "text/json")
TOO_MANY_REQUESTS_WAIT: Final = 60.0
"""After a 429 that names no wait: asking again at once only earns another."""


class FetchError(Exception):
    pass


def retry_after_seconds(value: str | None, now_wall: float) -> float | None:
    """`Retry-After` as delay-seconds or as an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_wall)


class ProviderClient:
    def __init__(
        self,
        name: str,
        *,
        timeout: float,
        requests_per_minute: float,
        cache_ttl: float,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # A burst of a minute's worth (price and FX polls together), then the rate.
        burst = max(1.0, requests_per_minute)
        self._limiter = AsyncLimiter(burst, 60 * burst / requests_per_minute)
        self._cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Any]] = {}
        self.breaker = breaker or CircuitBreaker(3, Backoff(base=30.0, cap=900.0), clock=clock)
        self._clock = clock
        self._wall = wall
        self.wait_until = 0.0
        """Monotonic time before which the provider asked not to be called."""
        self.requests = 0

    async def get_json(self, session: aiohttp.ClientSession, url: str) -> tuple[float, Any]:
        """(when it was fetched, monotonic; the decoded JSON), from the cache if recent."""
        cached = self._cache.get(url)
        now = self._clock()
        if cached is not None and now - cached[0] < self._cache_ttl:
            return cached
        if now < self.wait_until:
            raise FetchError(f"asked to wait {self.wait_until - now:.0f} s more (Retry-After)")
        if not self.breaker.allow():
            raise FetchError(
                f"circuit open after {self.breaker.last_error}; "
                f"next try in {self.breaker.retry_in():.0f} s"
            )
        if not self._limiter.has_capacity():
            raise FetchError("own rate limit reached")
        await self._limiter.acquire()
        try:
            data = await self._request(session, url)
        except FetchError as exc:
            self.breaker.record_failure(str(exc))
            raise
        self.breaker.record_success()
        self._cache[url] = fetched = (self._clock(), data)
        return fetched

    async def _request(self, session: aiohttp.ClientSession, url: str) -> Any:
        self.requests += 1
        try:
            async with session.get(
                url, timeout=self._timeout, headers={"Accept": "application/json"}
            ) as response:
                if response.status in (429, 503):
                    delay = retry_after_seconds(response.headers.get("Retry-After"), self._wall())
                    after = f", Retry-After {delay:.0f} s" if delay is not None else ""
                    if delay is None and response.status == 429:
                        delay = TOO_MANY_REQUESTS_WAIT
                        after = f", waiting {delay:.0f} s"
                    if delay is not None:
                        self.wait_until = self._clock() + delay
                    raise FetchError(f"HTTP {response.status}{after}")
                if response.status != 200:
                    raise FetchError(f"HTTP {response.status}")
                if response.content_type not in JSON_TYPES:
                    raise FetchError(f"content type {response.content_type!r:.40}, not JSON")
                if (response.content_length or 0) > MAX_BODY:
                    raise FetchError(f"body of {response.content_length} bytes is too large")
                body = await response.content.read(MAX_BODY + 1)
                while len(body) <= MAX_BODY and (
                    more := await response.content.read(MAX_BODY + 1 - len(body))
                ):
                    body += more
                if len(body) > MAX_BODY:
                    raise FetchError(f"body longer than {MAX_BODY} bytes, cut")
        except TimeoutError:
            raise FetchError(f"no answer within {self._timeout.total:g} s") from None
        except (ProxyError, ProxyConnectionError, ProxyTimeoutError) as exc:
            raise FetchError(f"proxy refused: {exc}"[:160]) from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(connection_failure(exc.os_error)) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}"[:160]) from None
        except OSError as exc:
            raise FetchError(connection_failure(exc)) from None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FetchError(f"malformed JSON: {exc}"[:120]) from None
