"""The command line: which command to run, and the settings it runs with.

Each flag maps to one setting and only overrides the lower layers when given,
so `--rpc-port` beats `BLOCKSIGHT_NODE__RPC_PORT`, which beats the TOML file.
Every error, from argparse or from validation, is one line on stderr and exit
status 2: a service manager's log shows the cause, not a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, NoReturn

from pydantic import SecretStr

from blocksight_tui import __version__
from blocksight_tui.remote.url import HubAddress, parse_hub_url
from blocksight_tui.settings import (
    CONFIG_FILE_NAME,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    NETWORKS,
    Settings,
    SettingsError,
    load_settings,
)

PROG: Final = "blocksight"
EXIT_USAGE: Final = 2

Command = Literal["tui", "serve", "attach"]

TOKEN_ENV: Final = f"{ENV_PREFIX}HUB{ENV_NESTED_DELIMITER}TOKEN"

# argparse keeps, per setting, the flag that set it under this suffix, so a
# validation error can name the flag the user typed.
_FLAG_SUFFIX: Final = "#flag"

_DESCRIPTION: Final = """\
A live, read-only monitor of a Bitcoin node. Without a command it runs the
terminal interface, with the WebSocket hub inside unless --no-hub."""

_EPILOG: Final = f"""\
settings come from, highest first:
  command-line flags
  environment variables {ENV_PREFIX}<SECTION>{ENV_NESTED_DELIMITER}<KEY>, \
e.g. {ENV_PREFIX}NODE{ENV_NESTED_DELIMITER}RPC_PORT=18443
  the TOML file: --config PATH, else $XDG_CONFIG_HOME/blocksight/{CONFIG_FILE_NAME}
    (~/.config/blocksight/{CONFIG_FILE_NAME}); see config/blocksight.example.toml
  defaults

Unset node settings are found like bitcoin-cli finds them: bitcoin.conf in the
data directory (its network section first), then the node's .cookie.
Without a node configured or answering, the demo runs (demo.mode = "auto").
"""


_ATTACH_DESCRIPTION: Final = """\
Run the terminal interface on the events of a remote hub (`blocksight serve`
on the node's box) instead of a local node: no node is looked for, no local
hub is started."""

_ATTACH_EPILOG: Final = f"""\
The token is sent as "Authorization: Bearer <token>". It comes from --token,
else the setting hub.token ({TOKEN_ENV}).

Over SSH, with the hub listening on the node box's loopback:
  ssh -L 8765:127.0.0.1:8765 nodebox
  blocksight attach ws://127.0.0.1:8765
"""


@dataclass(frozen=True)
class Invocation:
    command: Command
    settings: Settings
    network_explicit: bool
    hub: HubAddress | None = None
    """attach: the remote hub."""
    token: SecretStr | None = None
    """attach: the hub's bearer token, if any."""


class _Parser(argparse.ArgumentParser):
    """One line on stderr and status 2 for any usage error, with no usage dump."""

    def error(self, message: str) -> NoReturn:
        _fail(message)


class _Setting(argparse.Action):
    """Store a flag's value under the setting's dotted name, and remember the flag."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        setattr(namespace, self.dest + _FLAG_SUFFIX, option_string)


def _setting(
    group: argparse._ActionsContainer,
    flag: str,
    setting: str,
    help_text: str,
    *,
    metavar: str | None = None,
    const: Any = None,
    choices: Sequence[str] | None = None,
) -> None:
    if const is not None:
        group.add_argument(
            flag, dest=setting, action=_Setting, nargs=0, const=const, help=help_text
        )
    else:
        group.add_argument(
            flag, dest=setting, action=_Setting, metavar=metavar, choices=choices, help=help_text
        )


def _add_config_option(options: argparse.ArgumentParser) -> None:
    options.add_argument(
        "--config",
        dest="config",
        type=Path,
        metavar="PATH",
        help=f"TOML settings file (default: ~/.config/blocksight/{CONFIG_FILE_NAME} if present)",
    )


def _add_options(options: argparse.ArgumentParser) -> None:
    """The options shared by every command, accepted before or after it.

    Added to each parser rather than through `parents=`, which drops the
    mutually exclusive group out of its section in the help (before 3.13).
    """
    _add_config_option(options)

    node = options.add_argument_group("node (default: found through bitcoin.conf and the cookie)")
    _setting(
        node,
        "--network",
        "node.network",
        "chain to watch (default: chain= in bitcoin.conf, else main)",
        choices=NETWORKS,
    )
    _setting(
        node, "--datadir", "node.datadir", "bitcoind data directory (~/.bitcoin)", metavar="DIR"
    )
    _setting(
        node,
        "--conf",
        "node.conf",
        "bitcoin.conf to read (<datadir>/bitcoin.conf; relative to the data directory)",
        metavar="PATH",
    )
    _setting(
        node,
        "--rpc-host",
        "node.rpc_host",
        "RPC host, optionally host:port (rpcconnect, else 127.0.0.1)",
        metavar="HOST",
    )
    _setting(
        node,
        "--rpc-port",
        "node.rpc_port",
        "RPC port (rpcport, else the network's: 8332 18332 48332 38332 18443)",
        metavar="PORT",
    )
    _setting(node, "--rpc-user", "node.rpc_user", "RPC user name", metavar="USER")
    _setting(
        node,
        "--rpc-password",
        "node.rpc_password",
        "RPC password; other users can see it in the process list, prefer "
        f"{ENV_PREFIX}NODE{ENV_NESTED_DELIMITER}RPC_PASSWORD or the TOML file",
        metavar="PASSWORD",
    )
    _setting(
        node,
        "--rpc-cookie-file",
        "node.rpc_cookie_file",
        "RPC cookie file (<datadir>/<network>/.cookie; relative to the network's directory)",
        metavar="PATH",
    )

    hub = options.add_argument_group("hub")
    _setting(
        hub, "--hub-host", "hub.host", "address the hub listens on (127.0.0.1)", metavar="HOST"
    )
    _setting(
        hub, "--hub-port", "hub.port", "port the hub listens on (8765; 0: any free)", metavar="PORT"
    )
    _setting(hub, "--no-hub", "hub.enabled", "do not start the WebSocket hub", const=False)

    prices = options.add_argument_group("prices")
    _setting(
        prices,
        "--no-price",
        "prices.enabled",
        "no price nor FX rates: not a single request to a price API",
        const=False,
    )
    _setting(
        prices,
        "--currency",
        "prices.currency",
        "display currency: USD EUR GBP JPY CHF CAD AUD (USD)",
        metavar="CODE",
    )

    demo = options.add_argument_group("demo")
    demo_mode = demo.add_mutually_exclusive_group()
    _setting(demo_mode, "--demo", "demo.mode", "watch the simulated network", const="on")
    _setting(
        demo_mode,
        "--no-demo",
        "demo.mode",
        "never fall back to the simulation; fail when no node answers",
        const="off",
    )
    _setting(demo, "--seed", "demo.seed", "seed of the simulation (default: random)", metavar="N")
    _add_log_options(options)


def _add_log_options(options: argparse.ArgumentParser) -> None:
    log = options.add_argument_group("log")
    _setting(
        log,
        "--log-level",
        "log.level",
        "DEBUG, INFO, WARNING or ERROR (INFO)",
        metavar="LEVEL",
    )
    _setting(
        log,
        "--log-file",
        "log.file",
        "log file of the TUI (~/.local/state/blocksight/blocksight.log); serve logs to stderr",
        metavar="PATH",
    )


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: an omitted flag leaves no attribute, so it overrides nothing.
    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_options(parser)
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands",
        description="without a command, the terminal interface runs",
    )
    serve = commands.add_parser(
        "serve",
        help="run the WebSocket hub alone, headless (same options)",
        description="Run the WebSocket hub alone, without the terminal interface.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    _add_options(serve)
    attach = commands.add_parser(
        "attach",
        help="the terminal interface on a remote hub's events (ws://HOST:PORT)",
        description=_ATTACH_DESCRIPTION,
        epilog=_ATTACH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    attach.add_argument(
        "url", metavar="URL", help="the hub: ws://HOST:PORT or wss://HOST:PORT (path /ws)"
    )
    attach.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"the hub's token; other users can see it in the process list, prefer {TOKEN_ENV}",
    )
    _add_config_option(attach)
    _add_log_options(attach)
    return parser


def parse_command_line(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Invocation:
    """Parse `argv` (default `sys.argv[1:]`) and load the settings, or exit with status 2."""
    namespace = vars(build_parser().parse_args(argv))
    command: Command = namespace.pop("command", None) or "tui"
    config_path: Path | None = namespace.pop("config", None)
    hub: HubAddress | None = None
    url: str | None = namespace.pop("url", None)
    token_flag: str | None = namespace.pop("token", None)
    if url is not None:
        try:
            hub = parse_hub_url(url)
        except ValueError as exc:
            _fail(f"invalid hub URL {url!r}: {exc}")

    overrides: dict[str, Any] = {}
    flags: dict[tuple[str, ...], str] = {}
    for dest, value in namespace.items():
        if dest.endswith(_FLAG_SUFFIX):
            continue
        section, key = dest.split(".")
        overrides.setdefault(section, {})[key] = value
        flags[(section, key)] = namespace.get(dest + _FLAG_SUFFIX) or dest

    try:
        settings = load_settings(overrides, config_path, environ, cli_flags=flags)
    except SettingsError as exc:
        _fail(str(exc))
    return Invocation(
        command=command,
        settings=settings,
        network_explicit=settings.network_explicit,
        hub=hub,
        token=(SecretStr(token_flag) if token_flag else settings.hub.token) if hub else None,
    )


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
