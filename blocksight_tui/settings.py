"""Settings: nested sections, read from four layers.

Precedence, highest first: command-line flags, `BLOCKSIGHT_*` environment
variables (`BLOCKSIGHT_NODE__RPC_PORT=18443`), the TOML file (`--config PATH`,
else `$XDG_CONFIG_HOME/blocksight/blocksight.toml`), the defaults below.

`load_settings` is the one way to read the outside world. `Settings()` on its
own only takes keyword arguments and defaults, so code and tests that build one
directly never pick up a developer's shell or home directory by accident.

Every problem becomes a `SettingsError` with a one-line message that names the
setting and the layer it came from, so `blocksight` can print it and exit.
Secrets (`SecretStr` fields) never appear in a message.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeAlias, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as _SourceError

from blocksight_tui.adapters.electrum.servers import normalise_fingerprint, parse_server
from blocksight_tui.adapters.prices.providers import CURRENCIES, DEFAULT_PROVIDERS, PROVIDERS
from blocksight_tui.hosts import is_loopback

ENV_PREFIX: Final = "BLOCKSIGHT_"
ENV_NESTED_DELIMITER: Final = "__"
APP_DIR_NAME: Final = "blocksight"
CONFIG_FILE_NAME: Final = "blocksight.toml"
LOG_FILE_NAME: Final = "blocksight.log"
MIN_TOKEN_LENGTH: Final = 16

Network: TypeAlias = Literal["main", "test", "testnet4", "signet", "regtest"]
NETWORKS: Final[tuple[Network, ...]] = ("main", "test", "testnet4", "signet", "regtest")
LogLevel: TypeAlias = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
DemoMode: TypeAlias = Literal["auto", "on", "off"]

ExpandedPath: TypeAlias = Annotated[Path, AfterValidator(lambda path: path.expanduser())]
Interval: TypeAlias = Annotated[float, Field(gt=0)]

# Locations (as in a validation error's `loc`) whose values are never shown.
_SECRET_LOCS: Final = frozenset({("node", "rpc_password"), ("hub", "token")})
_MAX_SHOWN_VALUE: Final = 60


class SettingsError(Exception):
    """A setting is wrong; `str()` is one line naming it and where it came from."""

    def __init__(self, message: str, *, setting: str | None = None, origin: str | None = None):
        super().__init__(" ".join(message.split()))
        self.setting = setting
        self.origin = origin


class Section(BaseModel):
    """A `[section]` of the file: immutable, and a typo in a key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NodeSettings(Section):
    """Where the Bitcoin node is; unset fields are discovered like bitcoin-cli does."""

    network: Network = "main"
    datadir: ExpandedPath | None = Field(default=None, description="Default ~/.bitcoin.")
    conf: ExpandedPath | None = Field(
        default=None, description="Default <datadir>/bitcoin.conf; relative to datadir."
    )
    rpc_host: str | None = Field(
        default=None, description="Default rpcconnect from bitcoin.conf, else 127.0.0.1."
    )
    rpc_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Default rpcport from bitcoin.conf, else the network's standard port.",
    )
    rpc_user: str | None = None
    rpc_password: SecretStr | None = None
    rpc_cookie_file: ExpandedPath | None = Field(
        default=None, description="Relative to the network's data directory."
    )
    rpc_timeout: float = Field(default=10.0, gt=0, description="Seconds per call.")
    zmq: bool = Field(default=True, description="Use the node's ZMQ block notifications.")
    zmq_endpoint: str | None = Field(
        default=None,
        pattern=r"^(tcp|ipc)://.+",
        description="Default: asked from the node, else zmqpubhashblock in bitcoin.conf.",
    )
    recent_blocks: int = Field(default=20, ge=1, le=144, description="Blocks to summarise.")
    reorg_depth: int = Field(default=100, ge=6, le=10_000, description="Heights remembered.")


class HubSettings(Section):
    enabled: bool = True
    # Before `host`, whose check needs it.
    token: SecretStr | None = Field(
        default=None,
        description="Required to listen beyond loopback; clients send it as a bearer token.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535, description="0 picks any free port.")
    origins: list[str] = Field(
        default_factory=list,
        description="Browser pages (scheme://host[:port]) allowed besides the hub's own; * any.",
    )
    max_clients: int = Field(default=1000, ge=1, le=100_000)
    max_message_bytes: int = Field(
        default=16 * 1024, ge=256, le=1024 * 1024, description="Largest client frame."
    )
    messages_per_second: float = Field(
        default=10.0, gt=0, description="Per client, with bursts of twice as many."
    )
    heartbeat: float = Field(
        default=20.0, gt=0, description="Seconds between pings; a silent peer is dropped."
    )
    lag_limit: float = Field(
        default=10.0, gt=0, description="Seconds a client may stay behind before 1013."
    )

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"a token needs at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("host")
    @classmethod
    def _token_beyond_loopback(cls, value: str, info: ValidationInfo) -> str:
        if "token" in info.data and info.data["token"] is None and not is_loopback(value):
            raise ValueError(
                "listening beyond loopback needs a token "
                "(BLOCKSIGHT_HUB__TOKEN, or token in [hub])"
            )
        return value

    @field_validator("origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        origins = [origin.strip().rstrip("/").lower() for origin in value]
        for origin in origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not scheme://host[:port] (nor *)")
        return origins


class IntervalSettings(Section):
    """Seconds between two polls of each source."""

    tip: Interval = 5.0
    fees: Interval = 15.0
    mempool: Interval = 10.0
    blockchain: Interval = 30.0
    network: Interval = 60.0
    mining: Interval = 120.0
    price: Interval = 45.0
    fx: Interval = 3600.0


class ElectrumSettings(Section):
    """Electrum servers to watch beside the node (ElectrumX, Fulcrum, electrs)."""

    enabled: bool = True
    servers: list[str] = Field(
        default_factory=list,
        description="tcp://host:port or ssl://host:port; empty tries tcp://localhost:50001.",
    )
    pins: dict[str, str] = Field(
        default_factory=dict,
        description="Server (ssl://host:port) → sha256 certificate fingerprint, for self-signed.",
    )
    proxy: str | None = Field(
        default=None,
        pattern=r"^[^:/\s]+:\d+$",
        description="SOCKS5 proxy host:port for every server (Tor: 127.0.0.1:9050).",
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds per request.")
    ping_interval: float = Field(default=2.0, gt=0, description="Seconds between pings.")

    @field_validator("servers")
    @classmethod
    def _servers_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_server(text)
        return value

    @field_validator("pins")
    @classmethod
    def _pins_are_fingerprints(cls, value: dict[str, str]) -> dict[str, str]:
        return {server: normalise_fingerprint(pin) for server, pin in value.items()}


class PriceSettings(Section):
    """The BTC price and FX rates from public APIs; off, not a single request goes out."""

    enabled: bool = True
    currency: str = Field(default="USD", description="Display currency: " + ", ".join(CURRENCIES))
    providers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROVIDERS),
        description="Providers asked: " + ", ".join(PROVIDERS),
    )
    urls: dict[str, str] = Field(
        default_factory=dict, description="Provider → base URL, replacing its public one."
    )
    proxy: str | None = Field(
        default=None,
        pattern=r"^socks5h?://[^\s/]+:\d+/?$",
        description="SOCKS5 proxy URL for every request (Tor: socks5://127.0.0.1:9050).",
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds per request.")
    max_age: float = Field(
        default=300.0, gt=0, description="Seconds a provider's last quote stays usable."
    )
    requests_per_minute: float = Field(
        default=6.0, gt=0, description="Most requests per minute to each provider."
    )

    @field_validator("currency", mode="before")
    @classmethod
    def _known_currency(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in CURRENCIES:
                raise ValueError(f"unknown currency; one of {', '.join(CURRENCIES)}")
        return value

    @field_validator("providers", "urls")
    @classmethod
    def _known_providers(cls, value: Any) -> Any:
        for name in value:
            if name not in PROVIDERS:
                raise ValueError(f"unknown provider {name!r}; one of {', '.join(PROVIDERS)}")
        return value


class DemoSettings(Section):
    mode: DemoMode = Field(
        default="auto", description="auto: demo when no node is configured nor found."
    )
    seed: int | None = None
    speed: float = Field(default=1.0, gt=0, description="Time multiplier of the simulation.")


class LogSettings(Section):
    level: LogLevel = "INFO"
    file: ExpandedPath | None = Field(
        default=None, description="Default $XDG_STATE_HOME/blocksight/blocksight.log (TUI)."
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, str) and value.upper() in get_args(LogLevel):
            return value.upper()
        return value


@dataclass(frozen=True)
class _Layers:
    """What `load_settings` feeds to `Settings.settings_customise_sources`."""

    environ: Mapping[str, str]
    toml: dict[str, Any] = field(default_factory=dict)


_LAYERS: ContextVar[_Layers | None] = ContextVar("blocksight_settings_layers", default=None)


class _EnvironSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in self._environ.items()
            if value or not self.env_ignore_empty
        }

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        data.pop("config_file", None)  # only load_settings says which file it read
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        env_ignore_empty=True,
    )

    node: NodeSettings = Field(default_factory=NodeSettings)
    hub: HubSettings = Field(default_factory=HubSettings)
    intervals: IntervalSettings = Field(default_factory=IntervalSettings)
    electrum: ElectrumSettings = Field(default_factory=ElectrumSettings)
    prices: PriceSettings = Field(default_factory=PriceSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    config_file: Path | None = Field(
        default=None, description="The TOML file that was read, if any (informational)."
    )

    @property
    def network_explicit(self) -> bool:
        """Whether some layer chose the network (else bitcoin.conf's `chain=` may)."""
        return "network" in self.node.model_fields_set

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        layers = _LAYERS.get()
        if layers is None:
            return (init_settings,)
        return (
            init_settings,  # the command line, and config_file
            _EnvironSource(settings_cls, layers.environ),
            InitSettingsSource(settings_cls, init_kwargs=layers.toml),
        )


# ---------------------------------------------------------------- locations


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> Path | None:
    value = environ.get(variable, "")
    # The XDG spec says relative values are invalid and must be ignored.
    if value and Path(value).is_absolute():
        return Path(value)
    home = environ.get("HOME")
    return Path(home) / fallback if home else None


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """`$XDG_CONFIG_HOME/blocksight/blocksight.toml`, `~/.config/...` by default.

    None when `environ` has neither variable: a test passing `environ={}` never
    reads the developer's own file.
    """
    directory = _xdg_dir(os.environ if environ is None else environ, "XDG_CONFIG_HOME", ".config")
    return directory / APP_DIR_NAME / CONFIG_FILE_NAME if directory else None


def default_log_file(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/blocksight/blocksight.log`, `~/.local/state/...` by default."""
    directory = _xdg_dir(
        os.environ if environ is None else environ, "XDG_STATE_HOME", ".local/state"
    )
    return (directory or Path.home() / ".local/state") / APP_DIR_NAME / LOG_FILE_NAME


# ---------------------------------------------------------------- loading


def load_settings(
    cli: Mapping[str, Any] | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    cli_flags: Mapping[tuple[str, ...], str] | None = None,
) -> Settings:
    """Merge the layers and validate them, or raise `SettingsError`.

    `cli` is a nested dict of overrides (`{"hub": {"port": 0}}`); `cli_flags`
    maps a setting's location (`("hub", "port")`) to the flag that set it, so an
    error can name `--hub-port`. A missing `config_path` is an error; a missing
    default file is not. `environ` (default `os.environ`) also locates the
    default file through XDG_CONFIG_HOME and HOME.
    """
    env = os.environ if environ is None else environ
    overrides = _plain(cli or {})
    path: Path | None
    if config_path is not None:
        path = config_path.expanduser()
        toml = _read_toml(path, required=True)
    else:
        path = default_config_path(env)
        toml = _read_toml(path, required=False) if path is not None else None
        if toml is None:
            path = None

    layers = _Layers(environ=env, toml=toml or {})
    token = _LAYERS.set(layers)
    try:
        return Settings(**overrides, config_file=path)
    except ValidationError as exc:
        raise _from_validation_error(exc, overrides, layers, path, cli_flags or {}) from None
    except _SourceError as exc:
        # pydantic-settings could not decode a variable holding a whole section as JSON.
        raise _from_source_error(exc, env) from None
    finally:
        _LAYERS.reset(token)


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _plain(value) if isinstance(value, Mapping) else value for key, value in data.items()
    }


def _read_toml(path: Path, *, required: bool) -> dict[str, Any] | None:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        if not required:
            return None
        raise SettingsError(f"config file {path} does not exist", setting="config") from None
    except OSError as exc:
        raise SettingsError(
            f"cannot read config file {path}: {exc.strerror or exc}", setting="config"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # The message ends with "(at line N, column M)".
        raise SettingsError(f"invalid TOML in {path}: {exc}", origin=str(path)) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"invalid TOML in {path}: not UTF-8 ({exc.reason})") from None
    if "config_file" in data:
        raise SettingsError(
            f"config_file cannot be set in {path}; use --config",
            setting="config_file",
            origin=str(path),
        )
    return data


# ---------------------------------------------------------------- error messages


def _from_validation_error(
    exc: ValidationError,
    cli: Mapping[str, Any],
    layers: _Layers,
    path: Path | None,
    cli_flags: Mapping[tuple[str, ...], str],
) -> SettingsError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(str(part) for part in first["loc"])
    setting = ".".join(loc)
    origin = _origin(loc, cli, layers, path, cli_flags)
    if first["type"] == "extra_forbidden":
        message = f"unknown setting {setting} (from {origin})"
    else:
        message = (
            f"invalid setting {setting} = {_shown(loc, first.get('input'))} "
            f"(from {origin}): {_plain_message(first['msg'])}"
        )
    if len(errors) > 1:
        others = len(errors) - 1
        message += f" (and {others} more invalid setting{'s' if others > 1 else ''})"
    return SettingsError(message, setting=setting, origin=origin)


def _plain_message(message: str) -> str:
    """pydantic's message without its "Value error, " label."""
    return message.removeprefix("Value error, ")


def _from_source_error(exc: _SourceError, environ: Mapping[str, str]) -> SettingsError:
    match = re.search(r'field "(\w+)"', str(exc))
    variable = _env_variable((match[1],), environ) if match else None
    if match is None or variable is None:
        return SettingsError(f"invalid environment: {exc}", origin="environment")
    origin = f"environment variable {variable}"
    return SettingsError(
        f"invalid setting {match[1]} (from {origin}): expected a JSON object or "
        f"{variable}{ENV_NESTED_DELIMITER}<key> variables",
        setting=match[1],
        origin=origin,
    )


def _shown(loc: tuple[str, ...], value: Any) -> str:
    if loc in _SECRET_LOCS or isinstance(value, SecretStr):
        return "'***'"
    if isinstance(value, Mapping):
        return "{...}"  # a whole section: may hold a secret, and is long anyway
    text = repr(value)
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 3] + "..."
    return text


def _origin(
    loc: tuple[str, ...],
    cli: Mapping[str, Any],
    layers: _Layers,
    path: Path | None,
    cli_flags: Mapping[tuple[str, ...], str],
) -> str:
    """The highest layer that holds a value at `loc`: that value is the one that failed."""
    if _has(cli, loc):
        flag = next(
            (cli_flags[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in cli_flags), None
        )
        return f"command line {flag}" if flag else "command line"
    variable = _env_variable(loc, layers.environ)
    if variable is not None:
        return f"environment variable {variable}"
    if path is not None and _has(layers.toml, loc):
        return str(path)
    return "default"


def _has(data: Mapping[str, Any], loc: tuple[str, ...]) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _env_variable(loc: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    """The variable that set `loc`: `BLOCKSIGHT_NODE__RPC_PORT`, else the JSON `BLOCKSIGHT_NODE`."""
    by_name = {name.upper(): name for name, value in environ.items() if value}
    for n in range(len(loc), 0, -1):
        wanted = (ENV_PREFIX + ENV_NESTED_DELIMITER.join(loc[:n])).upper()
        if wanted in by_name:
            return by_name[wanted]
    return None
