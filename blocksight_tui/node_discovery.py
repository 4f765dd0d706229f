"""Find the node's RPC endpoint and credentials the way bitcoin-cli does.

Node operators already have a data directory, a `bitcoin.conf` and a cookie;
pointing BlockSight at a node should need nothing more than `--network`. The
rules follow Bitcoin Core:

- the data directory defaults to `~/.bitcoin`; each network but main has a
  subdirectory (`testnet3`, `testnet4`, `signet`, `regtest`) holding `.cookie`;
- in `bitcoin.conf`, a value in the network's section (`[regtest]`, or a
  `regtest.key=` line) wins over the top level, and the first occurrence of a
  key wins; `rpcport` at the top level applies to main only;
- `chain=` or `testnet=1`/`testnet4=1`/`signet=1`/`regtest=1` at the top level
  picks the network when no setting did;
- credentials: explicit settings > explicit cookie file > `rpcuser`/`rpcpassword`
  from `bitcoin.conf` > the cookie the node writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from blocksight_tui.settings import NETWORKS, NodeSettings, Settings, SettingsError

DEFAULT_RPC_HOST: Final = "127.0.0.1"
CONF_FILE_NAME: Final = "bitcoin.conf"
COOKIE_FILE_NAME: Final = ".cookie"

RPC_PORTS: Final[Mapping[str, int]] = {
    "main": 8332,
    "test": 18332,
    "testnet4": 48332,
    "signet": 38332,
    "regtest": 18443,
}

NETWORK_SUBDIRS: Final[Mapping[str, str]] = {
    "main": "",
    "test": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}

# Top-level boolean options that select a network, as bitcoind accepts them.
_NETWORK_FLAGS: Final[Mapping[str, str]] = {
    "testnet": "test",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}

# Core ignores these at the top level for any network but main.
_NETWORK_ONLY_OPTIONS: Final = frozenset({"rpcport"})

# [node] settings that do not point at a node: setting them alone keeps demo mode "auto".
_TUNING_SETTINGS: Final = frozenset({"rpc_timeout", "zmq", "recent_blocks", "reorg_depth"})


@dataclass(frozen=True)
class RpcEndpoint:
    """Where and how to call the node's JSON-RPC interface."""

    network: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    auth_source: str
    conf_file: Path | None
    zmq_endpoints: tuple[str, ...] = ()
    """Block notifications published by the node, as bitcoin.conf declares them."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


@dataclass(frozen=True)
class BitcoinConf:
    """A parsed `bitcoin.conf`: the top level and each section, first value of a key kept."""

    path: Path
    top: Mapping[str, str]
    sections: Mapping[str, Mapping[str, str]]

    def get(self, key: str, network: str) -> str | None:
        value = self.sections.get(network, {}).get(key)
        if value is not None:
            return value
        if key in _NETWORK_ONLY_OPTIONS and network != "main":
            return None
        return self.top.get(key)


def parse_bitcoin_conf(text: str, path: Path) -> BitcoinConf:
    """Read `key=value` lines, `#` comments and `[section]` headers, like Core."""
    top: dict[str, str] = {}
    sections: dict[str, dict[str, str]] = {}
    section: str | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue  # bitcoind refuses these; a monitor only needs to skip them
        key, value = key.strip().lstrip("-"), value.strip()
        target_section = section
        if "." in key:  # `regtest.rpcport=...` is the same as rpcport in [regtest]
            target_section, key = key.split(".", 1)
        target = top if target_section is None else sections.setdefault(target_section, {})
        target.setdefault(key, value)
    return BitcoinConf(path=path, top=top, sections=sections)


def discover_rpc_endpoint(node: NodeSettings, network_explicit: bool = True) -> RpcEndpoint:
    """Resolve host, port and credentials from the settings, `bitcoin.conf` and the cookie.

    Pass `network_explicit=False` when no layer set `node.network`, so that
    `chain=` in `bitcoin.conf` may choose it (see `Settings.network_explicit`).
    """
    if node.datadir is not None and not node.datadir.is_dir():
        raise SettingsError(
            f"node.datadir {node.datadir} is not a directory", setting="node.datadir"
        )
    base_datadir = node.datadir or Path("~/.bitcoin").expanduser()
    conf = _read_conf(node, base_datadir)

    network = node.network if network_explicit or conf is None else _conf_network(conf)
    datadir = base_datadir
    if node.datadir is None and conf is not None and "datadir" in conf.top:
        datadir = Path(conf.top["datadir"]).expanduser()
    net_datadir = datadir / NETWORK_SUBDIRS[network]

    host, port = _host_and_port(node, conf, network)
    user, password, auth_source = _credentials(node, conf, network, net_datadir)
    return RpcEndpoint(
        network=network,
        host=host,
        port=port,
        user=user,
        password=password,
        auth_source=auth_source,
        conf_file=conf.path if conf is not None else None,
        zmq_endpoints=_conf_zmq(conf, network),
    )


def _conf_zmq(conf: BitcoinConf | None, network: str) -> tuple[str, ...]:
    if conf is None:
        return ()
    found = (conf.get("zmqpubhashblock", network), conf.get("zmqpubsequence", network))
    return tuple(dict.fromkeys(e for e in found if e))


def node_configured(settings: Settings, endpoint: RpcEndpoint) -> bool:
    """Whether the user pointed at a node, so demo mode "auto" should not take over.

    True when some layer set a `[node]` setting that locates a node (not a mere
    tuning knob such as `rpc_timeout`), or when credentials were found in
    `bitcoin.conf` or a cookie: a local node is there.
    """
    if settings.node.model_fields_set - _TUNING_SETTINGS:
        return True
    return endpoint.auth_source != "none"


# ---------------------------------------------------------------- pieces


def _read_conf(node: NodeSettings, datadir: Path) -> BitcoinConf | None:
    if node.conf is None:
        path = datadir / CONF_FILE_NAME
    else:
        # Like bitcoind, a relative -conf is relative to the data directory.
        path = node.conf if node.conf.is_absolute() else datadir / node.conf
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if node.conf is None:
            return None
        raise SettingsError(f"node.conf {path} does not exist", setting="node.conf") from None
    except OSError as exc:
        raise SettingsError(
            f"cannot read node.conf {path}: {exc.strerror or exc}", setting="node.conf"
        ) from None
    return parse_bitcoin_conf(text, path)


def _conf_network(conf: BitcoinConf) -> str:
    chosen: set[str] = set()
    chain = conf.top.get("chain")
    if chain is not None:
        if chain not in NETWORKS:
            raise SettingsError(
                f"invalid chain={chain} in {conf.path}: expected one of {', '.join(NETWORKS)}",
                setting="node.network",
                origin=str(conf.path),
            )
        chosen.add(chain)
    chosen.update(
        network
        for option, network in _NETWORK_FLAGS.items()
        if option in conf.top and _conf_bool(conf.top[option])
    )
    if len(chosen) > 1:
        raise SettingsError(
            f"{conf.path} selects several networks ({', '.join(sorted(chosen))}); set node.network",
            setting="node.network",
            origin=str(conf.path),
        )
    return chosen.pop() if chosen else "main"


def _conf_bool(value: str) -> bool:
    """Core's InterpretBool: empty is true, else a number that is not zero."""
    if not value:
        return True
    try:
        return int(value) != 0
    except ValueError:
        return False


def _split_host_port(value: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address, like Core's SplitHostPort."""
    if value.startswith("[") and "]" in value:
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        return value, None
    if not port_text:
        return host, None
    if port_text.isdigit() and 0 < int(port_text) <= 65535:
        return host, int(port_text)
    raise ValueError(f"invalid port {port_text!r}")


def _conf_port(conf: BitcoinConf, network: str) -> int | None:
    value = conf.get("rpcport", network)
    if value is None:
        return None
    if value.isdigit() and 0 < int(value) <= 65535:
        return int(value)
    raise SettingsError(
        f"invalid rpcport={value} in {conf.path}", setting="node.rpc_port", origin=str(conf.path)
    )


def _host_and_port(node: NodeSettings, conf: BitcoinConf | None, network: str) -> tuple[str, int]:
    """Port: settings > host:port in settings > conf rpcport > rpcconnect's port > standard."""
    host, host_port, conf_host_port = DEFAULT_RPC_HOST, None, None
    if node.rpc_host is not None:
        try:
            host, host_port = _split_host_port(node.rpc_host)
        except ValueError as exc:
            raise SettingsError(
                f"invalid setting node.rpc_host = {node.rpc_host!r}: {exc}",
                setting="node.rpc_host",
            ) from None
    elif conf is not None and (connect := conf.get("rpcconnect", network)):
        try:
            host, conf_host_port = _split_host_port(connect)
        except ValueError as exc:
            raise SettingsError(
                f"invalid rpcconnect={connect} in {conf.path}: {exc}",
                setting="node.rpc_host",
                origin=str(conf.path),
            ) from None
    conf_port = _conf_port(conf, network) if conf is not None else None
    for port in (node.rpc_port, host_port, conf_port, conf_host_port):
        if port is not None:
            return host, port
    return host, RPC_PORTS[network]


def _credentials(
    node: NodeSettings, conf: BitcoinConf | None, network: str, net_datadir: Path
) -> tuple[str | None, str | None, str]:
    conf_user = conf.get("rpcuser", network) if conf is not None else None
    # As in Core, an empty password means "use the cookie".
    if node.rpc_password is not None and node.rpc_password.get_secret_value():
        return node.rpc_user or conf_user or "", node.rpc_password.get_secret_value(), "settings"
    if node.rpc_cookie_file is not None:
        path = _beside(net_datadir, node.rpc_cookie_file)
        found = _read_cookie(path, setting="node.rpc_cookie_file")
        if found is None:
            raise SettingsError(
                f"node.rpc_cookie_file {path} does not exist", setting="node.rpc_cookie_file"
            )
        return found[0], found[1], f"cookie {path}"
    if conf is not None and (conf_password := conf.get("rpcpassword", network)):
        return node.rpc_user or conf_user or "", conf_password, f"{CONF_FILE_NAME} {conf.path}"
    conf_cookie = conf.get("rpccookiefile", network) if conf is not None else None
    if conf_cookie:
        path, setting = _beside(net_datadir, Path(conf_cookie)), "rpccookiefile"
    else:
        path, setting = net_datadir / COOKIE_FILE_NAME, "RPC cookie"
    # The node writes its cookie when it starts: a missing one means it is not running.
    found = _read_cookie(path, setting=setting)
    if found is None:
        return node.rpc_user, None, "none"
    return found[0], found[1], f"cookie {path}"


def _beside(net_datadir: Path, path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else net_datadir / path


def _read_cookie(path: Path, *, setting: str) -> tuple[str, str] | None:
    """The cookie's user and password, or None when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        raise SettingsError(f"cannot read {setting} {path}: {reason}", setting=setting) from None
    lines = text.strip().splitlines()
    user, sep, password = lines[0].partition(":") if lines else ("", "", "")
    if not (user and sep and password):
        raise SettingsError(
            f"malformed RPC cookie {path}: expected one line user:password", setting=setting
        )
    return user, password
