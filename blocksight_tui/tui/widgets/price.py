"""The price: the median of the providers, how many answered, and other currencies."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from blocksight_tui.events import FxRates, FxRatesEvent, PriceCurrent, PriceCurrentEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Panel

PREFERRED = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD")


@dataclass(frozen=True)
class PriceSlice:
    price: PriceCurrentEvent | None = None
    fx: FxRatesEvent | None = None


def converted(price: PriceCurrent, fx: FxRates) -> list[tuple[str, float]]:
    """The price in the other currencies of ``fx``, most familiar first."""
    if price.currency == fx.base:
        per_base = 1.0
    elif price.currency in fx.rates:
        per_base = 1.0 / fx.rates[price.currency]
    else:
        return []
    base_price = price.price * per_base
    rates = {fx.base: 1.0, **fx.rates}
    codes = [c for c in rates if c != price.currency]
    codes.sort(key=lambda c: (PREFERRED.index(c) if c in PREFERRED else len(PREFERRED), c))
    return [(c, base_price * rates[c]) for c in codes]


class PricePanel(Panel):
    TITLE = "price"

    def on_mount(self) -> None:
        # The oldest quote's age goes on growing between polls.
        self.set_interval(1.0, self.refresh, name="price-age")

    def primary(self, data: PriceSlice) -> PriceCurrentEvent | None:
        return data.price

    def is_stale(self, data: PriceSlice) -> bool:
        p = data.price
        return p is not None and (
            p.source.state == "stale" or (p.data is not None and p.data.stale)
        )

    def lines(self, data: PriceSlice, width: int) -> list[str | Text]:
        assert data.price is not None and data.price.data is not None
        p = data.price.data
        out: list[str | Text] = [
            Text(fmt.pair(p.currency, fmt.price(p.price, p.currency), width), style="bold"),
        ]
        sources = f"{len(p.quotes)} source{'s' if len(p.quotes) != 1 else ''}"
        if p.quotes:
            since_event = max(0.0, self.clock() - data.price.ts)
            sources += f" · {fmt.duration(max(q.age_s for q in p.quotes) + since_event)}"
        out.append(fmt.pair("from", sources, width))
        symbol = fmt.CURRENCY_SYMBOLS.get(p.currency, p.currency)
        out.append(fmt.pair(f"sat/{symbol}", fmt.count(1e8 / p.price), width))
        fx = data.fx.data if data.fx is not None else None
        if fx is not None:
            rows = converted(p, fx)
            if rows:
                out.extend(fmt.pair(c, fmt.price(v, c), width) for c, v in rows)
            else:
                out.append(
                    fmt.truncate(
                        "fx " + " ".join(f"{c} {r:g}" for c, r in sorted(fx.rates.items())), width
                    )
                )
        return out
