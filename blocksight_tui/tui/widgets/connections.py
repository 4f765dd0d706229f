"""Peers in detail: connections by type, transport, ping and traffic (the
`p` screen)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import BlockchainNetworkEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.network import peers_text
from blocksight_tui.tui.widgets.panel import Entry, Panel

TYPE_ORDER = (
    "outbound-full-relay",
    "block-relay-only",
    "manual",
    "addr-fetch",
    "feeler",
    "inbound",
)


def count_bar(label: str, n: int, total: int, width: int, label_width: int) -> str:
    """'label      12 ████▌' with the bar scaled to ``total``."""
    head = f"{fmt.truncate(label, label_width):<{label_width}} {n:>4} "
    room = width - len(head)
    if room < 3:
        return fmt.pair(label, str(n), width)
    return head + fmt.bar(n / total if total else 0.0, room).rstrip()


class ConnectionsPanel(Panel):
    TITLE = "peers"
    FIT = False

    def lines(self, data: BlockchainNetworkEvent, width: int) -> Sequence[Entry]:
        n = data.data
        assert n is not None
        out: list[Entry] = [Text(peers_text(n, width), style="bold")]
        p = n.peers
        if p is None:
            out.append(Text("no per-peer details from this source", style="italic"))
        else:
            total = p.inbound + p.outbound
            types = sorted(
                p.by_connection_type.items(),
                key=lambda kv: (TYPE_ORDER.index(kv[0]) if kv[0] in TYPE_ORDER else 99, kv[0]),
            )
            label_width = max((len(t) for t, _ in types), default=0)
            out.extend(count_bar(t, c, total, width, label_width) for t, c in types)
            if p.v2_transport is not None:
                share = fmt.percent(p.v2_transport / total, 0) if total else "—"
                out.append(
                    fmt.pair("v2 transport", f"{p.v2_transport} of {total} ({share})", width)
                )
            if p.ping_ms_median is not None:
                ping = f"median {fmt.millis(p.ping_ms_median)}"
                if p.ping_ms_min is not None:
                    ping += f" · min {fmt.millis(p.ping_ms_min)}"
                out.append(fmt.pair("ping", ping, width))
        t = n.traffic
        if t is not None:
            out.append("")
            if t.receive_rate_bps is not None and t.send_rate_bps is not None:
                rates = f"↓ {fmt.byte_rate(t.receive_rate_bps)}  ↑ {fmt.byte_rate(t.send_rate_bps)}"
                out.append(fmt.pair("traffic", rates, width))
            totals = f"↓ {fmt.size(t.bytes_received)}  ↑ {fmt.size(t.bytes_sent)}"
            out.append(fmt.pair("since start", totals, width))
        if not n.network_active:
            out.append(Text("network activity off", style="bold italic"))
        return out
