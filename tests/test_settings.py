"""Settings: layer precedence, the TOML file, and one-line errors that say where
a bad value came from."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from blocksight_tui.settings import (
    DemoSettings,
    ElectrumSettings,
    HubSettings,
    IntervalSettings,
    LogSettings,
    NodeSettings,
    PriceSettings,
    Settings,
    SettingsError,
    default_config_path,
    default_log_file,
    load_settings,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "blocksight.example.toml"
SECTIONS: dict[str, type[BaseModel]] = {
    "node": NodeSettings,
    "hub": HubSettings,
    "intervals": IntervalSettings,
    "electrum": ElectrumSettings,
    "prices": PriceSettings,
    "demo": DemoSettings,
    "log": LogSettings,
}


def write_toml(tmp_path: Path, text: str, name: str = "blocksight.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(**kwargs: Any) -> str:
    kwargs.setdefault("environ", {})
    with pytest.raises(SettingsError) as info:
        load_settings(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- defaults and layers


def test_defaults_without_any_layer() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.config_file is None
    assert settings.node.network == "main" and settings.node.rpc_port is None
    assert settings.hub.port == 8765 and settings.hub.enabled
    assert settings.intervals.fx == 3600.0
    assert settings.demo.mode == "auto" and settings.log.level == "INFO"
    assert not settings.node.model_fields_set
    assert not settings.network_explicit


@pytest.mark.parametrize(
    ("section", "key", "toml_value", "env_value", "cli_value", "expected"),
    [
        ("hub", "port", "1001", "1002", "1003", (1001, 1002, 1003)),
        ("node", "rpc_port", "18443", "18444", "18445", (18443, 18444, 18445)),
        ("node", "network", '"signet"', "test", "regtest", ("signet", "test", "regtest")),
        ("intervals", "tip", "1.5", "2.5", "3.5", (1.5, 2.5, 3.5)),
        ("log", "level", '"debug"', "warning", "ERROR", ("DEBUG", "WARNING", "ERROR")),
        ("demo", "mode", '"off"', "on", "auto", ("off", "on", "auto")),
    ],
)
def test_each_layer_beats_the_one_below(
    tmp_path: Path,
    section: str,
    key: str,
    toml_value: str,
    env_value: str,
    cli_value: str,
    expected: tuple[Any, Any, Any],
) -> None:
    config = write_toml(tmp_path, f"[{section}]\n{key} = {toml_value}\n")
    variable = f"BLOCKSIGHT_{section.upper()}__{key.upper()}"
    cli = {section: {key: cli_value}}

    def value(settings: Settings) -> Any:
        return getattr(getattr(settings, section), key)

    default = value(Settings())
    assert value(load_settings(environ={})) == default
    assert value(load_settings(config_path=config, environ={})) == expected[0]
    assert value(load_settings(config_path=config, environ={variable: env_value})) == expected[1]
    assert (
        value(load_settings(cli, config_path=config, environ={variable: env_value})) == expected[2]
    )


def test_layers_merge_key_by_key_within_a_section(tmp_path: Path) -> None:
    config = write_toml(tmp_path, '[node]\nrpc_host = "10.0.0.5"\nrpc_port = 1\n')
    settings = load_settings(
        {"node": {"network": "regtest"}},
        config_path=config,
        environ={"BLOCKSIGHT_NODE__RPC_PORT": "18444", "BLOCKSIGHT_HUB__ENABLED": "false"},
    )
    assert settings.node.rpc_host == "10.0.0.5"
    assert settings.node.rpc_port == 18444
    assert settings.node.network == "regtest"
    assert settings.hub.enabled is False
    assert settings.node.model_fields_set == {"rpc_host", "rpc_port", "network"}
    assert settings.network_explicit
    assert settings.config_file == config


def test_environment_comes_only_from_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOCKSIGHT_HUB__PORT", "4242")
    assert load_settings(environ={}).hub.port == 8765
    assert load_settings().hub.port == 4242  # os.environ by default
    assert Settings().hub.port == 8765  # direct construction reads no layer


def test_environment_names_ignore_case_and_empty_values() -> None:
    settings = load_settings(
        environ={"blocksight_hub__port": "9000", "BLOCKSIGHT_NODE__RPC_HOST": ""}
    )
    assert settings.hub.port == 9000
    assert settings.node.rpc_host is None


def test_a_whole_section_as_json_in_one_variable() -> None:
    settings = load_settings(environ={"BLOCKSIGHT_HUB": '{"port": 7000, "host": "127.0.0.2"}'})
    assert (settings.hub.host, settings.hub.port) == ("127.0.0.2", 7000)


def test_config_file_cannot_come_from_the_environment() -> None:
    assert load_settings(environ={"BLOCKSIGHT_CONFIG_FILE": "/etc/x.toml"}).config_file is None


def test_paths_expand_the_home_directory(tmp_path: Path) -> None:
    config = write_toml(tmp_path, '[node]\ndatadir = "~/btc"\n[log]\nfile = "~/b.log"\n')
    settings = load_settings(config_path=config, environ={})
    assert settings.node.datadir == Path.home() / "btc"
    assert settings.log.file == Path.home() / "b.log"


def test_sections_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.hub.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cli", "accepted"),
    [
        ({"hub": {"port": 0}}, True),
        ({"hub": {"port": 65535}}, True),
        ({"hub": {"port": 65536}}, False),
        ({"node": {"rpc_port": 0}}, False),
        ({"node": {"rpc_port": 65535}}, True),
        ({"node": {"rpc_timeout": 0}}, False),
        ({"intervals": {"fees": 0}}, False),
        ({"intervals": {"fx": -1}}, False),
        ({"demo": {"speed": 0}}, False),
        ({"demo": {"speed": 500}}, True),
        ({"demo": {"mode": "maybe"}}, False),
        ({"log": {"level": "verbose"}}, False),
        ({"node": {"network": "testnet"}}, False),
        ({"node": {"network": "testnet4"}}, True),
    ],
)
def test_bounds_and_choices(cli: dict[str, Any], accepted: bool) -> None:
    if accepted:
        load_settings(cli, environ={})
    else:
        load_error(cli=cli)


# ---------------------------------------------------------------- the TOML file


def test_default_file_follows_xdg_config_home(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "blocksight" / "blocksight.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[hub]\nport = 9999\n")
    settings = load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert settings.hub.port == 9999
    assert settings.config_file == config


def test_default_file_under_home_and_missing_is_fine(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path)}
    assert default_config_path(environ) == tmp_path / ".config/blocksight/blocksight.toml"
    assert load_settings(environ=environ).config_file is None
    config = tmp_path / ".config" / "blocksight" / "blocksight.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[demo]\nseed = 3\n")
    assert load_settings(environ=environ).demo.seed == 3


def test_relative_xdg_values_are_ignored(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": "rel", "XDG_STATE_HOME": "rel"}
    assert default_config_path(environ) == tmp_path / ".config/blocksight/blocksight.toml"
    assert default_log_file(environ) == tmp_path / ".local/state/blocksight/blocksight.log"
    assert default_log_file({"XDG_STATE_HOME": "/s"}) == Path("/s/blocksight/blocksight.log")


def test_explicit_file_wins_over_the_default_one(tmp_path: Path) -> None:
    default = tmp_path / "xdg" / "blocksight" / "blocksight.toml"
    default.parent.mkdir(parents=True)
    default.write_text("[hub]\nport = 1\n")
    explicit = write_toml(tmp_path, "[hub]\nhost = '::1'\n", "other.toml")
    settings = load_settings(
        config_path=explicit, environ={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    )
    assert (settings.hub.host, settings.hub.port) == ("::1", 8765)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    message = load_error(config_path=tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in message and "does not exist" in message


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    message = load_error(config_path=tmp_path)
    assert message.startswith(f"cannot read config file {tmp_path}")


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "[hub]\nport = 1\nhost = \n")
    message = load_error(config_path=config)
    assert str(config) in message
    assert "line 3" in message


def test_invalid_default_file_is_an_error_too(tmp_path: Path) -> None:
    config = tmp_path / "blocksight" / "blocksight.toml"
    config.parent.mkdir()
    config.write_text("[hub\n")
    assert str(config) in load_error(environ={"XDG_CONFIG_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("[node]\nrpcport = 1\n", "node.rpcport"),
        ("[nodes]\nrpc_port = 1\n", "nodes"),
        ("[intervals]\nblocks = 3\n", "intervals.blocks"),
    ],
)
def test_unknown_keys_are_errors(tmp_path: Path, text: str, setting: str) -> None:
    config = write_toml(tmp_path, text)
    assert load_error(config_path=config) == f"unknown setting {setting} (from {config})"


def test_config_file_is_not_settable_from_the_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path, 'config_file = "/etc/other.toml"\n')
    assert "config_file" in load_error(config_path=config)


# ---------------------------------------------------------------- error origins


def test_error_from_the_environment_names_the_variable() -> None:
    message = load_error(environ={"BLOCKSIGHT_NODE__RPC_PORT": "abc"})
    assert message.startswith(
        "invalid setting node.rpc_port = 'abc' "
        "(from environment variable BLOCKSIGHT_NODE__RPC_PORT): Input should be a valid integer"
    )


def test_error_from_the_environment_keeps_the_variable_spelling() -> None:
    message = load_error(environ={"blocksight_hub__port": "-1"})
    assert "(from environment variable blocksight_hub__port)" in message


def test_error_inside_a_json_section_names_that_variable() -> None:
    message = load_error(environ={"BLOCKSIGHT_HUB": '{"port": "x"}'})
    assert "invalid setting hub.port = 'x' (from environment variable BLOCKSIGHT_HUB)" in message


def test_malformed_json_section_is_one_line_naming_the_variable() -> None:
    message = load_error(environ={"BLOCKSIGHT_NODE": "{not json"})
    assert message.startswith("invalid setting node (from environment variable BLOCKSIGHT_NODE)")


def test_error_from_the_file_names_the_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path, '[hub]\nport = "abc"\n')
    message = load_error(config_path=config)
    assert message.startswith(f"invalid setting hub.port = 'abc' (from {config}): ")


def test_error_from_the_command_line_names_the_flag() -> None:
    message = load_error(cli={"hub": {"port": "abc"}}, cli_flags={("hub", "port"): "--hub-port"})
    assert message.startswith("invalid setting hub.port = 'abc' (from command line --hub-port): ")
    assert "(from command line)" in load_error(cli={"hub": {"port": "abc"}})


def test_origin_is_the_highest_layer_holding_the_key(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "[hub]\nport = 1\n")
    message = load_error(config_path=config, environ={"BLOCKSIGHT_HUB__PORT": "no"})
    assert "(from environment variable BLOCKSIGHT_HUB__PORT)" in message
    config = write_toml(tmp_path, '[hub]\nport = "no"\n')
    message = load_error(config_path=config, environ={"BLOCKSIGHT_HUB__HOST": "::1"})
    assert f"(from {config})" in message


def test_error_attributes_name_setting_and_origin(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"BLOCKSIGHT_DEMO__SPEED": "0"})
    assert info.value.setting == "demo.speed"
    assert info.value.origin == "environment variable BLOCKSIGHT_DEMO__SPEED"


def test_several_errors_still_make_one_line() -> None:
    message = load_error(environ={"BLOCKSIGHT_HUB__PORT": "x", "BLOCKSIGHT_DEMO__SPEED": "-1"})
    assert message.endswith("(and 1 more invalid setting)")


# ---------------------------------------------------------------- secrets


def test_secret_is_never_shown(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "[node]\nrpc_password = 424242424242\n")
    message = load_error(config_path=config)
    assert "424242424242" not in message
    assert message.startswith("invalid setting node.rpc_password = '***'")

    message = load_error(environ={"BLOCKSIGHT_NODE": '{"rpc_password": 9191919191}'})
    assert "9191919191" not in message

    message = load_error(
        cli={"node": {"rpc_password": "hunter2-secret", "rpc_port": "x"}},
        environ={"BLOCKSIGHT_NODE": '{"rpc_password": "other-secret", "rpc_timeout": "x"}'},
    )
    assert "hunter2" not in message and "other-secret" not in message


def test_secret_stays_out_of_repr_and_dumps() -> None:
    settings = load_settings({"node": {"rpc_password": "hunter2-secret"}}, environ={})
    assert isinstance(settings.node.rpc_password, SecretStr)
    assert settings.node.rpc_password.get_secret_value() == "hunter2-secret"
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2" not in text


# ---------------------------------------------------------------- the example file


def example_assignments() -> list[tuple[str, str, str, bool]]:
    """(section, key, value, is_example) for each commented `# key = value` line."""
    found: list[tuple[str, str, str, bool]] = []
    section = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if header := re.fullmatch(r"\[(\w+)\]", line):
            section = header[1]
        elif match := re.fullmatch(r"# (\w+) = (.+?)(  # example)?", line):
            found.append((section, match[1], match[2], match[3] is not None))
    return found


def test_example_documents_every_setting() -> None:
    documented = {(section, key) for section, key, _, _ in example_assignments()}
    expected = {(section, key) for section, model in SECTIONS.items() for key in model.model_fields}
    assert documented == expected
    assert set(Settings.model_fields) == set(SECTIONS) | {"config_file"}


def test_example_shows_the_defaults(tmp_path: Path) -> None:
    lines: dict[str, list[str]] = {section: [] for section in SECTIONS}
    for section, key, value, is_example in example_assignments():
        default = SECTIONS[section].model_fields[key].default
        if is_example:
            assert default is None, f"{section}.{key} has a default, show it"
        else:
            lines[section].append(f"{key} = {value}")
    text = "".join(f"[{s}]\n" + "\n".join(body) + "\n" for s, body in lines.items())
    settings = load_settings(config_path=write_toml(tmp_path, text), environ={})
    assert settings.model_dump(exclude={"config_file"}) == Settings().model_dump(
        exclude={"config_file"}
    )


def test_example_values_are_valid(tmp_path: Path) -> None:
    uncommented = re.sub(r"(?m)^# (\w+ = )", r"\1", EXAMPLE.read_text(encoding="utf-8"))
    tomllib.loads(uncommented)
    config = write_toml(tmp_path, uncommented)
    settings = load_settings(config_path=config, environ={})
    assert settings.node.rpc_port == 8332 and settings.demo.seed == 42


def test_example_as_is_loads_to_the_defaults() -> None:
    settings = load_settings(config_path=EXAMPLE, environ={})
    assert settings.model_dump(exclude={"config_file"}) == Settings().model_dump(
        exclude={"config_file"}
    )
