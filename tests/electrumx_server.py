"""A real ElectrumX server for the tests, indexing the regtest node of
`tests.node_daemon`.

ElectrumX 1.20.2 pins an older aiorpcX than this project, so it lives in a
virtual environment of its own under `.cache/electrumx-venv`, made once with
`python -m venv` and `pip install`. Like the node, it must be had under CI:
failing to get it fails the tests there instead of skipping them.

The node is a Bitcoin SV build of Core's code, so ElectrumX runs as
`COIN=BitcoinSV NET=regtest`. It reads blocks over the node's REST interface
(`-rest=1`) and serves `blockchain.transaction.get` through
`getrawtransaction`, which needs `-txindex=1` for confirmed transactions.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl as ssl_module
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from blocksight_tui.adapters.addresses import decode_address, p2pkh_address, script_hash
from tests.node_daemon import RegtestNode, free_port, stop_process, unavailable

ELECTRUMX_SPEC = "electrumX==1.20.2"
CACHE = Path(__file__).resolve().parent.parent / ".cache"
VENV = CACHE / "electrumx-venv"
# Written last, so a half-made environment is never taken for a good one.
STAMP = VENV / ".installed-electrumX-1.20.2"
NODE_ARGS = ("-txindex=1",)
"""What ElectrumX needs from the node on top of `RegtestNode`'s own arguments."""

# No key is behind these hashes: the coins are only ever looked at.
MINER_PUBKEY_HASH = hashlib.sha256(b"blocksight regtest miner").digest()[:20]
MINER_ADDRESS = p2pkh_address(MINER_PUBKEY_HASH, "regtest")
MINER_SCRIPT_HASH = script_hash(decode_address(MINER_ADDRESS, "regtest").script)
SPARE_ADDRESS = p2pkh_address(hashlib.sha256(b"blocksight spare miner").digest()[:20], "regtest")
MINED_BLOCKS = 101
BLOCK_REWARD_SATS = 50 * 100_000_000

# ElectrumX polls the node every 5 s for blocks and its mempool. The tests
# mine and then wait for the news, so the launcher shortens both polls.
BLOCK_POLL_SECONDS = 0.5
MEMPOOL_POLL_SECONDS = 0.5
LAUNCHER = f"""
import runpy, sys
from electrumx.server.block_processor import BlockProcessor
from electrumx.server.mempool import MemPool
BlockProcessor.polling_delay = {BLOCK_POLL_SECONDS}
MemPool.__init__.__defaults__ = ({MEMPOOL_POLL_SECONDS}, 60.0)
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def electrumx_available() -> Path:
    """The venv's `electrumx_server`, installed on first use."""
    binary = VENV / "bin" / "electrumx_server"
    if STAMP.exists() and binary.exists():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    # One installer at a time (parallel test runs share the cache).
    with open(CACHE / "electrumx-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP.exists() and binary.exists():
            return binary
        shutil.rmtree(VENV, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(VENV)],
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", ELECTRUMX_SPEC],
        ]
        for step in steps:
            try:
                result = subprocess.run(step, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as exc:
                shutil.rmtree(VENV, ignore_errors=True)
                unavailable(f"cannot install {ELECTRUMX_SPEC}: {exc}")
            if result.returncode != 0:
                shutil.rmtree(VENV, ignore_errors=True)
                unavailable(f"cannot install {ELECTRUMX_SPEC}: {result.stderr.strip()[-300:]}")
        if not binary.exists():
            unavailable(f"{ELECTRUMX_SPEC} installed no electrumx_server")
        STAMP.touch()
    return binary


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the `openssl` CLI."""
    cert, key = directory / "server.crt", directory / "server.key"
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("the openssl command is needed to make the test certificate")
    cmd = [
        str(openssl), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "3650",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        unavailable(f"openssl could not make a certificate: {result.stderr.strip()[-300:]}")
    return cert, key


@dataclass
class ElectrumXServer:
    binary: Path
    node: RegtestNode
    datadir: Path
    tcp_port: int = field(default_factory=free_port)
    ssl_port: int | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # ElectrumX's admin RPC port; its default (8000) would clash between servers.
    admin_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

    @property
    def ssl_url(self) -> str:
        if self.ssl_port is None:
            raise ValueError("this server was made without ssl")
        return f"ssl://127.0.0.1:{self.ssl_port}"

    @property
    def log_file(self) -> Path:
        return self.datadir / "electrumx.log"

    def environment(self) -> dict[str, str]:
        """A clean environment: ElectrumX reads many variables, none of ours leak in."""
        services = [f"tcp://127.0.0.1:{self.tcp_port}", f"rpc://127.0.0.1:{self.admin_port}"]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.datadir),
            "COIN": "BitcoinSV",
            "NET": "regtest",
            "DAEMON_URL": (
                f"http://{self.node.user}:{self.node.password}@127.0.0.1:{self.node.rpc_port}/"
            ),
            "DB_DIRECTORY": str(self.datadir / "db"),
            "DB_ENGINE": "leveldb",
            "CACHE_MB": "100",
            "PEER_DISCOVERY": "off",
            "PEER_ANNOUNCE": "",
            "ALLOW_ROOT": "1",
            "LOG_LEVEL": "info",
            "REQUEST_TIMEOUT": "10",
            # Tests hammer one server from one address: no cost throttling.
            "COST_SOFT_LIMIT": "0",
            "COST_HARD_LIMIT": "0",
        }
        if self.ssl_port is not None:
            assert self.cert_file is not None and self.key_file is not None
            services.append(f"ssl://127.0.0.1:{self.ssl_port}")
            env["SSL_CERTFILE"] = str(self.cert_file)
            env["SSL_KEYFILE"] = str(self.key_file)
        env["SERVICES"] = ",".join(services)
        return env

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until it has synced to the node's tip and answers over TCP."""
        (self.datadir / "db").mkdir(parents=True, exist_ok=True)
        python = self.binary.parent / "python"
        log = open(self.log_file, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [str(python), "-c", LAUNCHER, str(self.binary)],
            stdout=log, stderr=subprocess.STDOUT, env=self.environment(), cwd=self.datadir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"electrumx exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                with LineClient(self.tcp_url, timeout=2) as client:
                    client.call("server.version", "blocksight-test", "1.4")
                    tip = client.call("blockchain.headers.subscribe")
                if tip["height"] == self.node.rpc("getblockcount"):
                    return
            except (OSError, RuntimeError, KeyError, TypeError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"electrumx did not sync in {timeout:.0f} s: {self.log_tail()}")

    def stop(self) -> None:
        """SIGINT, which ElectrumX handles by flushing its database and exiting."""
        if self.process is not None:
            stop_process(self.process, signal.SIGINT)
        self.process = None

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start again on the same ports and database."""
        self.stop()
        self.start(timeout)

    def wait_for_height(self, height: int, timeout: float = 30.0) -> None:
        """Wait until the server reports `height` (after the test mined)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, RuntimeError, KeyError, TypeError):
                if rpc_once(self.tcp_url, "blockchain.headers.subscribe")["height"] >= height:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"electrumx did not reach height {height}: {self.log_tail()}")

    def fingerprint_sha256(self) -> str:
        """SHA-256 of the certificate's DER bytes, lowercase hex."""
        if self.cert_file is None:
            raise ValueError("this server was made without ssl")
        der = ssl_module.PEM_cert_to_DER_cert(self.cert_file.read_text())
        return hashlib.sha256(der).hexdigest()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])


def make_electrumx(node: RegtestNode, ssl: bool = False) -> ElectrumXServer:
    """An ElectrumX on `node` (started with `NODE_ARGS`), not yet started."""
    binary = electrumx_available()
    datadir = Path(tempfile.mkdtemp(prefix="blocksight-electrumx-"))
    server = ElectrumXServer(binary=binary, node=node, datadir=datadir)
    if ssl:
        server.cert_file, server.key_file = make_certificate(datadir)
        server.ssl_port = free_port()
    return server


def remove_electrumx(server: ElectrumXServer) -> None:
    server.stop()
    shutil.rmtree(server.datadir, ignore_errors=True)


def connect(url: str, ssl_context: ssl_module.SSLContext | None = None,
            timeout: float = 10.0) -> socket.socket:
    """A blocking socket to a `tcp://` or `ssl://` URL; ssl trusts any certificate
    unless `ssl_context` says otherwise (the test servers' are self-signed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("tcp", "ssl") or parts.hostname is None or parts.port is None:
        raise ValueError(f"not a tcp:// or ssl:// URL: {url}")
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    if parts.scheme == "ssl":
        if ssl_context is None:
            ssl_context = ssl_module.create_default_context()
            ssl_context.check_hostname = False
            ssl_context.verify_mode = ssl_module.CERT_NONE
        sock = ssl_context.wrap_socket(sock, server_hostname=parts.hostname)
    return sock


class LineClient:
    """A tiny blocking newline-JSON client, for the tests' own checks."""

    def __init__(self, url: str, ssl_context: ssl_module.SSLContext | None = None,
                 timeout: float = 10.0) -> None:
        self.sock = connect(url, ssl_context, timeout)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0
        self.pending: list[dict[str, Any]] = []

    def exchange(self, method: str, *params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send one request; return it with the raw response (error or result)."""
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method,
                   "params": list(params)}
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            message = self.read_message()
            if message.get("id") == self.next_id:
                return request, message
            # A notification that arrived in between is kept for `notification()`.
            self.pending.append(message)

    def read_message(self) -> dict[str, Any]:
        line = self.reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        message: dict[str, Any] = json.loads(line)
        return message

    def notification(self) -> dict[str, Any]:
        """The next notification (a message without an id), waiting for it."""
        while not self.pending:
            message = self.read_message()
            if "id" not in message:
                self.pending.append(message)
        return self.pending.pop(0)

    def call(self, method: str, *params: Any) -> Any:
        _, response = self.exchange(method, *params)
        if response.get("error"):
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> LineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rpc_once(url: str, method: str, *params: Any,
             ssl_context: ssl_module.SSLContext | None = None, timeout: float = 10.0) -> Any:
    """One call on a fresh connection; RuntimeError for a JSON-RPC error."""
    with LineClient(url, ssl_context, timeout) as client:
        return client.call(method, *params)


def mine_blocks(node: RegtestNode, count: int, address: str = SPARE_ADDRESS) -> int:
    """Mine `count` blocks paying `address`; the new tip height."""
    node.rpc("generatetoaddress", count, address)
    return int(node.rpc("getblockcount"))


def start_electrumx(node: RegtestNode, ssl: bool = False) -> ElectrumXServer:
    """Make and start a server; under the CI rule when it cannot start."""
    server = make_electrumx(node, ssl=ssl)
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        remove_electrumx(server)
        unavailable(f"electrumx did not start: {exc}")
    return server
