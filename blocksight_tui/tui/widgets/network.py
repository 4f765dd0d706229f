"""The node's view of the network: peers, version, relay fee, reachable nets."""

from __future__ import annotations

from rich.text import Text

from blocksight_tui.events import BlockchainNetworkEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.panel import Panel


class NetworkPanel(Panel):
    TITLE = "network"

    def lines(self, data: BlockchainNetworkEvent, width: int) -> list[str | Text]:
        n = data.data
        assert n is not None
        if n.connections_in is not None and n.connections_out is not None:
            peers = f"{n.connections_in} in · {n.connections_out} out"
            if len(f"peers {peers}") > width:
                peers = f"{n.connections_in}↓ {n.connections_out}↑"
        else:
            peers = fmt.count(n.connections)
        out: list[str | Text] = [
            Text(fmt.pair("peers", peers, width), style="bold"),
            fmt.truncate(n.subversion, width),
            fmt.pair("relay", fmt.sat_vb(n.relay_fee_sat_per_vb), width),
        ]
        if n.reachable_networks:
            out.append(fmt.truncate("nets " + " ".join(n.reachable_networks), width))
        if not n.network_active:
            out.append(Text("network activity off", style="bold italic"))
        out.extend(Text(fmt.truncate(w, width), style="italic") for w in n.warnings)
        return out
