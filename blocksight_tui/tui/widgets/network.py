"""The node's view of the network: peers in and out, how many speak the
encrypted v2 transport, the median ping, traffic, then version, relay fee and
reachable networks as room allows."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import BlockchainNetwork, BlockchainNetworkEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Entry, Line, Panel


def peers_text(n: BlockchainNetwork, width: int) -> str:
    inbound, outbound = n.connections_in, n.connections_out
    if n.peers is not None:
        inbound, outbound = n.peers.inbound, n.peers.outbound
    if inbound is None or outbound is None:
        return fmt.pair("peers", fmt.count(n.connections), width)
    text = f"{inbound} in · {outbound} out"
    if len(f"peers {text}") > width:
        text = f"{inbound}↓ {outbound}↑"
    return fmt.pair("peers", text, width)


def transport_line(n: BlockchainNetwork, width: int) -> str | None:
    """'v2 6/18   ping 48 ms'; either half alone when the other is unknown."""
    p = n.peers
    if p is None:
        return None
    left = f"v2 {p.v2_transport}/{p.inbound + p.outbound}" if p.v2_transport is not None else ""
    right = f"ping {fmt.millis(p.ping_ms_median)}" if p.ping_ms_median is not None else ""
    if not left and not right:
        return None
    if left and right and len(left) + 1 + len(right) > width:
        right = fmt.millis(p.ping_ms_median)
    return fmt.pair(left, right, width) if right else left


def traffic_lines(n: BlockchainNetwork, width: int) -> list[Entry]:
    """'↓ 1.20 MB/s  ↑ 340 kB/s', or the totals until two samples give a
    rate; in a narrow box the upload goes to a line of its own."""
    t = n.traffic
    if t is None:
        return []
    if t.receive_rate_bps is None or t.send_rate_bps is None:
        down, up = fmt.size(t.bytes_received), fmt.size(t.bytes_sent)
    else:
        down, up = fmt.byte_rate(t.receive_rate_bps), fmt.byte_rate(t.send_rate_bps)
    for left, right in ((f"↓ {down}", f"↑ {up}"), (f"↓{down}", f"↑{up}")):
        if len(left) + 1 + len(right) <= width:
            return [fmt.pair(left, right, width)]
    return [f"↓ {down}", Line(f"↑ {up}", rank=2)]


class NetworkPanel(Panel):
    TITLE = "network"

    def lines(self, data: BlockchainNetworkEvent, width: int) -> Sequence[Entry]:
        n = data.data
        assert n is not None
        out: list[Entry] = [Text(peers_text(n, width), style="bold")]
        transport = transport_line(n, width)
        if transport:
            out.append(transport)
        out += traffic_lines(n, width)
        if not n.network_active:
            out.append(Text("network activity off", style="bold italic"))
        out.extend(Text(fmt.truncate(w, width), style="italic") for w in n.warnings)
        out.append(Line(fmt.truncate(n.subversion, width), rank=1))
        if n.reachable_networks:
            out.append(Line(fmt.truncate("nets " + " ".join(n.reachable_networks), width), rank=2))
        out.append(Line(fmt.pair("relay", fmt.sat_vb(n.relay_fee_sat_per_vb), width), rank=3))
        return out
