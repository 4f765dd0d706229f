"""Where a remote hub is: `ws://HOST:PORT[/ws]` or `wss://…`, checked before
anything connects, so a typo is one line at start-up rather than a link that
never comes up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from blocksight_tui.hosts import is_loopback

DEFAULT_PATH: Final = "/ws"
SCHEMES: Final = ("ws", "wss")
BAD_PORT: Final = "the port must be a number from 1 to 65535"


@dataclass(frozen=True)
class HubAddress:
    scheme: Literal["ws", "wss"]
    host: str
    port: int
    path: str = DEFAULT_PATH

    @property
    def host_port(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """This machine: an SSH tunnel's end, or a hub beside the screen."""
        return is_loopback(self.host)

    @property
    def url(self) -> str:
        """What is connected to."""
        return f"{self.scheme}://{self.host_port}{self.path}"

    @property
    def label(self) -> str:
        """What is shown: the URL as typed, without the usual `/ws`."""
        path = "" if self.path == DEFAULT_PATH else self.path
        return f"{self.scheme}://{self.host_port}{path}"


def parse_hub_url(text: str) -> HubAddress:
    """The hub at `text`, or ValueError saying what is wrong with it.

    A missing port is the scheme's (80, 443), as a browser would take it;
    a missing path is the hub's `/ws`.
    """
    try:
        parts = urlsplit(text.strip())
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise ValueError(str(exc)) from None
    try:
        port = parts.port
    except ValueError:  # urllib's words name its own internals
        raise ValueError(BAD_PORT) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError("it must start with ws:// or wss://")
    if not parts.hostname:
        raise ValueError("it names no host")
    if port == 0:
        raise ValueError(BAD_PORT)
    if parts.username is not None or parts.password is not None:
        raise ValueError("no user or password in the URL: use --token")
    if parts.query or parts.fragment:
        # A token in the URL would show on screen, in the log and in `ps`.
        raise ValueError("no query in the URL: pass the token with --token")
    path = parts.path.rstrip("/") or DEFAULT_PATH
    return HubAddress(
        scheme="wss" if scheme == "wss" else "ws",
        host=parts.hostname,
        port=port if port is not None else (443 if scheme == "wss" else 80),
        path=path,
    )
