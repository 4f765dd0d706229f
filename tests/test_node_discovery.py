"""Node discovery in throwaway data directories: the same files bitcoind writes,
read the way bitcoin-cli reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from blocksight_tui.node_discovery import (
    RPC_PORTS,
    RpcEndpoint,
    discover_rpc_endpoint,
    node_configured,
    parse_bitcoin_conf,
)
from blocksight_tui.settings import NodeSettings, Settings, SettingsError, load_settings

COOKIE_SECRET = "5f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
SUBDIRS = {
    "main": "",
    "test": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}


def node(datadir: Path, **values: Any) -> NodeSettings:
    return NodeSettings(datadir=datadir, **values)


def write_cookie(directory: Path, secret: str = COOKIE_SECRET, name: str = ".cookie") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"__cookie__:{secret}")
    return path


def write_conf(datadir: Path, text: str, name: str = "bitcoin.conf") -> Path:
    path = datadir / name
    path.write_text(text)
    return path


def discovery_error(settings: NodeSettings, network_explicit: bool = True) -> str:
    with pytest.raises(SettingsError) as info:
        discover_rpc_endpoint(settings, network_explicit)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- each network


@pytest.mark.parametrize("network", list(SUBDIRS))
def test_cookie_in_the_network_directory(tmp_path: Path, network: str) -> None:
    cookie = write_cookie(tmp_path / SUBDIRS[network])
    endpoint = discover_rpc_endpoint(node(tmp_path, network=network))
    assert endpoint.network == network
    assert (endpoint.host, endpoint.port) == ("127.0.0.1", RPC_PORTS[network])
    assert (endpoint.user, endpoint.password) == ("__cookie__", COOKIE_SECRET)
    assert endpoint.auth_source == f"cookie {cookie}"
    assert endpoint.conf_file is None
    assert endpoint.url == f"http://127.0.0.1:{RPC_PORTS[network]}/"


def test_standard_ports() -> None:
    assert dict(RPC_PORTS) == {
        "main": 8332,
        "test": 18332,
        "testnet4": 48332,
        "signet": 38332,
        "regtest": 18443,
    }


@pytest.mark.parametrize("network", [n for n in SUBDIRS if n != "regtest"])
def test_another_networks_cookie_is_not_used(tmp_path: Path, network: str) -> None:
    write_cookie(tmp_path / "regtest")
    endpoint = discover_rpc_endpoint(node(tmp_path, network=network))
    assert (endpoint.user, endpoint.password, endpoint.auth_source) == (None, None, "none")


def test_default_datadir_is_dot_bitcoin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cookie = write_cookie(tmp_path / ".bitcoin" / "signet")
    endpoint = discover_rpc_endpoint(NodeSettings(network="signet"))
    assert endpoint.auth_source == f"cookie {cookie}"


# ---------------------------------------------------------------- bitcoin.conf


CONF_WITH_SECTIONS = """\
# top level
rpcport=9999
rpcuser=topuser
rpcpassword=toppass
[test]
rpcuser=testuser
[regtest]
rpcport=1234
rpcpassword=regpass  # trailing comment
[signet]
rpcconnect=10.1.2.3
"""


@pytest.mark.parametrize(
    ("network", "port", "user", "password", "host"),
    [
        ("main", 9999, "topuser", "toppass", "127.0.0.1"),  # top-level rpcport: main only
        ("test", 18332, "testuser", "toppass", "127.0.0.1"),
        ("testnet4", 48332, "topuser", "toppass", "127.0.0.1"),
        ("signet", 38332, "topuser", "toppass", "10.1.2.3"),
        ("regtest", 1234, "topuser", "regpass", "127.0.0.1"),
    ],
)
def test_network_section_beats_the_top_level(
    tmp_path: Path, network: str, port: int, user: str, password: str, host: str
) -> None:
    conf = write_conf(tmp_path, CONF_WITH_SECTIONS)
    endpoint = discover_rpc_endpoint(node(tmp_path, network=network))
    assert (endpoint.host, endpoint.port) == (host, port)
    assert (endpoint.user, endpoint.password) == (user, password)
    assert endpoint.auth_source == f"bitcoin.conf {conf}"
    assert endpoint.conf_file == conf


def test_dotted_keys_are_section_values(tmp_path: Path) -> None:
    write_conf(tmp_path, "regtest.rpcport=2222\nrpcport=3333\n")
    assert discover_rpc_endpoint(node(tmp_path, network="regtest")).port == 2222
    assert discover_rpc_endpoint(node(tmp_path, network="main")).port == 3333


def test_first_occurrence_of_a_key_wins(tmp_path: Path) -> None:
    write_conf(tmp_path, "rpcuser=first\nrpcuser=second\nrpcpassword=p\n")
    assert discover_rpc_endpoint(node(tmp_path)).user == "first"


def test_parser_skips_comments_blank_and_bare_lines() -> None:
    conf = parse_bitcoin_conf(
        "\n# comment\nserver\n  rpcuser = alice  \n[main]\nrpcport=1 # c\n", Path("x")
    )
    assert conf.top == {"rpcuser": "alice"}
    assert conf.sections == {"main": {"rpcport": "1"}}


@pytest.mark.parametrize(
    ("conf_text", "settings", "host", "port"),
    [
        ("rpcconnect=192.168.1.9:8000\n", {}, "192.168.1.9", 8000),
        ("rpcconnect=[::1]:8001\n", {}, "::1", 8001),
        ("rpcconnect=::1\n", {}, "::1", 18443),
        ("rpcconnect=node.lan\n", {}, "node.lan", 18443),
        ("rpcconnect=node.lan:8000\n[regtest]\nrpcport=8002\n", {}, "node.lan", 8002),
        ("rpcconnect=node.lan:8000\n", {"rpc_port": 8003}, "node.lan", 8003),
        ("rpcconnect=node.lan:8000\n", {"rpc_host": "other"}, "other", 18443),
        ("[regtest]\nrpcport=8002\n", {"rpc_host": "other:8004"}, "other", 8004),
        ("", {"rpc_host": "[fe80::1]"}, "fe80::1", 18443),
    ],
)
def test_host_and_port(
    tmp_path: Path, conf_text: str, settings: dict[str, Any], host: str, port: int
) -> None:
    write_conf(tmp_path, conf_text)
    endpoint = discover_rpc_endpoint(node(tmp_path, network="regtest", **settings))
    assert (endpoint.host, endpoint.port) == (host, port)


def test_url_brackets_ipv6() -> None:
    endpoint = RpcEndpoint("main", "::1", 8332, None, None, "none", None)
    assert endpoint.url == "http://[::1]:8332/"


@pytest.mark.parametrize(
    ("conf_text", "network"),
    [
        ("chain=regtest\n", "regtest"),
        ("chain=test\n", "test"),
        ("chain=testnet4\n", "testnet4"),
        ("chain=main\n", "main"),
        ("testnet=1\n", "test"),
        ("testnet4=1\n", "testnet4"),
        ("signet=1\n", "signet"),
        ("regtest=1\n", "regtest"),
        ("regtest=\n", "regtest"),
        ("regtest=0\n", "main"),
        ("[regtest]\nchain=signet\n", "main"),
        ("", "main"),
    ],
)
def test_conf_picks_the_network_when_no_setting_did(
    tmp_path: Path, conf_text: str, network: str
) -> None:
    write_conf(tmp_path, conf_text)
    cookie = write_cookie(tmp_path / SUBDIRS[network])
    endpoint = discover_rpc_endpoint(node(tmp_path), network_explicit=False)
    assert endpoint.network == network
    assert endpoint.port == RPC_PORTS[network]
    assert endpoint.auth_source == f"cookie {cookie}"


def test_an_explicit_network_beats_the_conf(tmp_path: Path) -> None:
    write_conf(tmp_path, "chain=regtest\n")
    assert discover_rpc_endpoint(node(tmp_path, network="signet")).network == "signet"
    # An explicit "main" too, though it is the default value.
    assert discover_rpc_endpoint(node(tmp_path), network_explicit=True).network == "main"


def test_network_explicit_comes_from_the_layers(tmp_path: Path) -> None:
    write_conf(tmp_path, "chain=regtest\n")
    datadir = {"node": {"datadir": str(tmp_path)}}
    unset = load_settings(datadir, environ={})
    assert discover_rpc_endpoint(unset.node, unset.network_explicit).network == "regtest"
    env = {"BLOCKSIGHT_NODE__NETWORK": "main"}
    chosen = load_settings(datadir, environ=env)
    assert discover_rpc_endpoint(chosen.node, chosen.network_explicit).network == "main"


@pytest.mark.parametrize(
    ("conf_text", "expected"),
    [
        ("chain=regtest\nsignet=1\n", "several networks"),
        ("chain=mainnet\n", "invalid chain=mainnet"),
    ],
)
def test_bad_network_choice_in_conf(tmp_path: Path, conf_text: str, expected: str) -> None:
    conf = write_conf(tmp_path, conf_text)
    message = discovery_error(node(tmp_path), network_explicit=False)
    assert expected in message and str(conf) in message


def test_relative_conf_is_relative_to_the_datadir(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "rpcpassword=p\n", name="alt.conf")
    endpoint = discover_rpc_endpoint(node(tmp_path, conf=Path("alt.conf")))
    assert endpoint.conf_file == conf


def test_datadir_from_the_default_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".bitcoin").mkdir()
    write_conf(tmp_path / ".bitcoin", f"datadir={tmp_path / 'data'}\n")
    cookie = write_cookie(tmp_path / "data" / "regtest")
    endpoint = discover_rpc_endpoint(NodeSettings(network="regtest"))
    assert endpoint.auth_source == f"cookie {cookie}"


def test_missing_default_conf_is_fine(tmp_path: Path) -> None:
    endpoint = discover_rpc_endpoint(node(tmp_path))
    assert endpoint.conf_file is None and endpoint.auth_source == "none"


def test_missing_explicit_conf_is_an_error(tmp_path: Path) -> None:
    message = discovery_error(node(tmp_path, conf=tmp_path / "nope.conf"))
    assert message == f"node.conf {tmp_path / 'nope.conf'} does not exist"


def test_unreadable_explicit_conf_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "dir.conf").mkdir()
    message = discovery_error(node(tmp_path, conf=tmp_path / "dir.conf"))
    assert message.startswith(f"cannot read node.conf {tmp_path / 'dir.conf'}")


def test_datadir_that_is_not_a_directory(tmp_path: Path) -> None:
    assert "node.datadir" in discovery_error(node(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("conf_text", "setting"),
    [("rpcport=http\n", "rpcport=http"), ("rpcconnect=host:x\n", "rpcconnect=host:x")],
)
def test_bad_ports_in_conf(tmp_path: Path, conf_text: str, setting: str) -> None:
    conf = write_conf(tmp_path, conf_text)
    message = discovery_error(node(tmp_path))
    assert setting in message and str(conf) in message


# ---------------------------------------------------------------- cookies and credentials


def test_relative_rpccookiefile_is_relative_to_the_network_directory(tmp_path: Path) -> None:
    write_conf(tmp_path, "[signet]\nrpccookiefile=auth/my.cookie\n")
    cookie = write_cookie(tmp_path / "signet" / "auth", name="my.cookie")
    write_cookie(tmp_path / "signet", secret="not-this-one")
    endpoint = discover_rpc_endpoint(node(tmp_path, network="signet"))
    assert endpoint.auth_source == f"cookie {cookie}"
    assert endpoint.password == COOKIE_SECRET


def test_absolute_rpccookiefile(tmp_path: Path) -> None:
    cookie = write_cookie(tmp_path / "elsewhere", name="c")
    write_conf(tmp_path, f"rpccookiefile={cookie}\n")
    assert discover_rpc_endpoint(node(tmp_path)).auth_source == f"cookie {cookie}"


def test_relative_cookie_setting_is_relative_to_the_network_directory(tmp_path: Path) -> None:
    cookie = write_cookie(tmp_path / "testnet4", name="mine")
    endpoint = discover_rpc_endpoint(
        node(tmp_path, network="testnet4", rpc_cookie_file=Path("mine"))
    )
    assert endpoint.auth_source == f"cookie {cookie}"


CREDENTIAL_CONF = "rpcuser=confuser\nrpcpassword=confpass\n"


@pytest.mark.parametrize(
    ("settings", "conf_text", "user", "password", "source"),
    [
        ({"rpc_user": "u", "rpc_password": "p"}, CREDENTIAL_CONF, "u", "p", "settings"),
        ({"rpc_password": "p"}, CREDENTIAL_CONF, "confuser", "p", "settings"),
        ({"rpc_cookie_file": "explicit"}, CREDENTIAL_CONF, "__cookie__", "x", "cookie"),
        ({}, CREDENTIAL_CONF, "confuser", "confpass", "bitcoin.conf"),
        ({"rpc_user": "u"}, CREDENTIAL_CONF, "u", "confpass", "bitcoin.conf"),
        ({}, "rpcuser=confuser\n", "__cookie__", COOKIE_SECRET, "cookie"),
        ({"rpc_password": ""}, "", "__cookie__", COOKIE_SECRET, "cookie"),
    ],
)
def test_credential_precedence(
    tmp_path: Path,
    settings: dict[str, Any],
    conf_text: str,
    user: str,
    password: str,
    source: str,
) -> None:
    write_conf(tmp_path, conf_text)
    write_cookie(tmp_path / "regtest")
    write_cookie(tmp_path / "regtest", secret="x", name="explicit")
    endpoint = discover_rpc_endpoint(node(tmp_path, network="regtest", **settings))
    assert (endpoint.user, endpoint.password) == (user, password)
    assert endpoint.auth_source.split(" ")[0] == source


def test_missing_explicit_cookie_is_an_error(tmp_path: Path) -> None:
    message = discovery_error(node(tmp_path, rpc_cookie_file=tmp_path / "nope"))
    assert message == f"node.rpc_cookie_file {tmp_path / 'nope'} does not exist"


@pytest.mark.parametrize("contents", ["", "no-colon-here", ":onlypass", "someone:", "\n"])
def test_malformed_cookie_is_an_error_without_its_contents(tmp_path: Path, contents: str) -> None:
    (tmp_path / ".cookie").write_text(contents)
    message = discovery_error(node(tmp_path))
    assert message.startswith(f"malformed RPC cookie {tmp_path / '.cookie'}")
    if contents.strip():
        assert contents.strip() not in message


def test_unreadable_cookie_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "regtest" / ".cookie").mkdir(parents=True)
    message = discovery_error(node(tmp_path, network="regtest"))
    assert message.startswith(f"cannot read RPC cookie {tmp_path / 'regtest' / '.cookie'}")


def test_secrets_stay_out_of_repr_and_errors(tmp_path: Path) -> None:
    write_conf(tmp_path, "rpcpassword=conf-secret-pw\nrpcconnect=h:bad\n")
    message = discovery_error(node(tmp_path))
    assert "conf-secret-pw" not in message

    write_conf(tmp_path, "")
    write_cookie(tmp_path)
    endpoint = discover_rpc_endpoint(node(tmp_path))
    assert endpoint.password == COOKIE_SECRET
    assert COOKIE_SECRET not in repr(endpoint) and COOKIE_SECRET not in str(endpoint)
    explicit = discover_rpc_endpoint(node(tmp_path, rpc_password="setting-secret-pw"))
    assert "setting-secret-pw" not in repr(explicit)


# ---------------------------------------------------------------- node_configured


def configured(tmp_path: Path, cli: dict[str, Any], cookie: bool = False) -> bool:
    if cookie:
        write_cookie(tmp_path / "home" / ".bitcoin")
    home = tmp_path / "home"
    (home / ".bitcoin").mkdir(parents=True, exist_ok=True)
    settings = load_settings(cli, environ={"HOME": str(home)})
    node_settings = settings.node
    if node_settings.datadir is None:
        node_settings = node_settings.model_copy(update={"datadir": home / ".bitcoin"})
    endpoint = discover_rpc_endpoint(node_settings, settings.network_explicit)
    return node_configured(settings, endpoint)


@pytest.mark.parametrize(
    ("cli", "cookie", "expected"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"node": {"rpc_port": 8332}}, False, True),
        ({"node": {"network": "main"}}, False, True),
        ({"node": {"rpc_host": "10.0.0.2"}}, False, True),
        ({"node": {"rpc_timeout": 30}}, False, False),
        ({"hub": {"port": 0}}, False, False),
    ],
)
def test_node_configured(tmp_path: Path, cli: dict[str, Any], cookie: bool, expected: bool) -> None:
    assert configured(tmp_path, cli, cookie) is expected


def test_node_configured_by_conf_credentials(tmp_path: Path) -> None:
    write_conf(tmp_path, "rpcpassword=p\n")
    settings = Settings()
    endpoint = discover_rpc_endpoint(NodeSettings(datadir=tmp_path))
    assert node_configured(settings, endpoint)
