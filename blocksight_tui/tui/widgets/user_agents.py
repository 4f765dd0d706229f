"""What the peers run, and what this node is and reaches (the `p` screen)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from blocksight_tui.events import BlockchainNetworkEvent
from blocksight_tui.render import format as fmt
from blocksight_tui.tui.widgets.connections import count_bar
from blocksight_tui.tui.widgets.panel import Entry, Panel


class UserAgentsPanel(Panel):
    TITLE = "user agents"
    FIT = False

    def lines(self, data: BlockchainNetworkEvent, width: int) -> Sequence[Entry]:
        n = data.data
        assert n is not None
        out: list[Entry] = []
        p = n.peers
        if p is not None and p.top_user_agents:
            total = p.inbound + p.outbound
            label_width = min(max(len(ua) for ua, _ in p.top_user_agents), max(8, width - 12))
            out.extend(count_bar(ua, c, total, width, label_width) for ua, c in p.top_user_agents)
            shown = sum(c for _, c in p.top_user_agents)
            if total > shown:
                out.append(Text(fmt.pair("others", str(total - shown), width), style="dim"))
        else:
            out.append(Text("no user agents from this source", style="italic"))
        out.append("")
        out.append(Text("this node", style="bold"))
        out.append(fmt.pair("version", n.subversion, width))
        out.append(fmt.pair("protocol", str(n.protocol_version), width))
        out.append(fmt.pair("relay", fmt.sat_vb(n.relay_fee_sat_per_vb), width))
        if n.reachable_networks:
            out.append(fmt.pair("reaches", " ".join(n.reachable_networks), width))
        out.extend(Text(fmt.truncate(w, width), style="italic") for w in n.warnings)
        return out
