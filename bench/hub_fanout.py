"""The hub's fan-out against two baselines, with N WebSocket clients on loopback.

Three servers, each in its own process, get the same load: one
`network.mempool` event (a 30-band fee histogram, 2.6 kB as a frame) at a
fixed rate, the publish time in the envelope's `ts`:

  hub         BlockSight's HubServer fed by an EventBus (the real thing:
              hello, snapshot, heartbeat, history, coalescing outboxes)
  websockets  a minimal `websockets` server: `websockets.broadcast()` of the
              same frame text to every connection (it pings too)
  bare        a bare asyncio server: a hand-made upgrade handshake, then
              `transport.write` of the same pre-built frame bytes to every
              socket, nothing else (the machine's practical limit)

Each serializes the event once (the payload itself is built beforehand).

The clients live in other processes (`--client-procs`, 2 by default), niced
(`--nice`, 10) so that they take the cores from the server as little as
possible: bare sockets, a hand-made handshake, a minimal frame parser that
answers pings. Each frame's arrival is the kernel's receive timestamp
(SO_TIMESTAMPNS): when it reached the client's socket, not when the client
process, busy with thousands of sockets, got round to it.

Per run: delivery latency p50/p99/max (arrival minus `ts`, ms); frames
delivered per second and as a share of those published; the fan-out time of
one event in the server (the synchronous publish call, median, ms) and what it
implies (N / that time: frames per second the server hands to the kernel);
the server's CPU (process CPU time over the publishing window plus 1 s, as a
share of one core and per event); its RSS per client (after connecting minus
before, / N, kB); the clients lost; and `read p99`, the p99 latency of when
the client process read the frame (includes the clients' own queueing).

    python bench/hub_fanout.py --clients 100,1000,5000,10000 --rates 1,10 --duration 20

`--repeat R` runs the whole matrix R times and reports, per cell, the run
with the median p99. Needs the `bench` extra (websockets). Raises
RLIMIT_NOFILE to the hard limit in every process, and widens
net.ipv4.ip_local_port_range when it is too narrow for the clients (root
only). With HUB_FANOUT_PROFILE=path set, each server process writes a
cProfile dump to path.<server>.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import hashlib
import json
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blocksight_tui.events import FeeBand, NetworkMempool, SourceInfo, make_event
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.clients import text_frame
from blocksight_tui.hub.protocol import event_frame

VARIANTS = ("hub", "websockets", "bare")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"
SOURCE = SourceInfo(name="core")
EVENT_PREFIX = b'{"frame":"event"'
TS_KEY = b'"ts":'
CONNECT_CONCURRENCY = 200
# Linux's SO_TIMESTAMPNS (not in Python's socket module): the kernel's
# receive time of what a recvmsg returns, as a struct timespec.
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@qq")


# ---------------------------------------------------------------- shared


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mempool(n: int) -> NetworkMempool:
    bands = tuple(
        FeeBand(min_sat_per_vb=float(i), max_sat_per_vb=float(i + 1), vsize=1000 * i + n,
                tx_count=10 * i + n)
        for i in range(30)
    )
    return NetworkMempool(
        tx_count=50_000 + n, vsize=30_000_000 + n, usage=150_000_000, max_usage=300_000_000,
        min_fee_sat_per_vb=1.0, total_fee_btc=0.5, incremental_relay_fee_sat_per_vb=1.0,
        full_rbf=True, loaded=True, fee_histogram=bands,
    )


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def read_command() -> str:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return line.strip()


# ---------------------------------------------------------------- servers


class BareServer(asyncio.Protocol):
    """Upgrade handshake by hand, then nothing but what `publish` writes."""

    sockets: set[asyncio.Transport] = set()

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.upgraded or self.transport is None:
            return  # pongs and the like: not read
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        key = next(
            line.split(b":", 1)[1].strip()
            for line in self.head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.upgraded = True
        self.sockets.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.sockets.discard(self.transport)


async def serve(
    variant: str, port: int, rate: float, duration: float, heartbeat: float | None
) -> None:
    """One server process: report ready, wait for `go`, publish, report."""
    raise_nofile()
    loop = asyncio.get_running_loop()
    count: Callable[[], int]
    if variant == "hub":
        from blocksight_tui.hub.access import AccessPolicy
        from blocksight_tui.hub.server import HubServer

        bus = EventBus()
        # The hub as an operator would open it to this many clients.
        access = AccessPolicy(max_clients=100_000)
        hub = HubServer(bus, "127.0.0.1", port, heartbeat=heartbeat, access=access)
        await hub.start()
        port = hub.bound_port or port

        def publish(data: NetworkMempool) -> None:
            bus.publish("network.mempool", data, SOURCE)

        def count() -> int:
            return hub.client_count
    elif variant == "websockets":
        import websockets
        from websockets.asyncio.server import ServerConnection
        from websockets.asyncio.server import serve as ws_serve

        connections: set[ServerConnection] = set()

        async def handler(ws: ServerConnection) -> None:
            connections.add(ws)
            try:
                await ws.wait_closed()
            finally:
                connections.discard(ws)

        ws_server = await ws_serve(handler, "127.0.0.1", port, compression=None, backlog=4096,
                                   ping_interval=heartbeat, max_queue=16)
        port = next(iter(ws_server.sockets)).getsockname()[1]

        def publish(data: NetworkMempool) -> None:
            event = make_event("network.mempool", data, SOURCE, seq=data.tx_count or 0)
            websockets.broadcast(connections, event_frame(event))

        def count() -> int:
            return len(connections)
    else:
        bare = await loop.create_server(BareServer, "127.0.0.1", port, backlog=4096)
        port = bare.sockets[0].getsockname()[1]

        def publish(data: NetworkMempool) -> None:
            event = make_event("network.mempool", data, SOURCE, seq=data.tx_count or 0)
            wire = text_frame(event_frame(event).encode())
            for transport in BareServer.sockets:
                transport.write(wire)

        def count() -> int:
            return len(BareServer.sockets)

    publish(mempool(0))  # warm up the serializers before anyone is measured
    emit({"port": port, "rss_kb": rss_kb()})
    assert await read_command() == "go"
    connected, rss_connected = count(), rss_kb()
    fanout_ms: list[float] = []
    cpu0, wall0 = cpu_s(), time.perf_counter()
    events = int(duration * rate)
    # Built beforehand: the payload is the source's work, not the fan-out's.
    payloads = [mempool(n) for n in range(events + 1)]
    for n in range(1, events + 1):
        delay = wall0 + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        t0 = time.perf_counter()
        publish(payloads[n])
        fanout_ms.append((time.perf_counter() - t0) * 1000)
    # A server that cannot keep up publishes late: frames/s is over the time
    # to the last publish, when that came more than a period after it was due.
    late = t0 - wall0
    publish_s = late if late > duration + 1 / rate else duration
    # Let what is buffered reach the clients before the clock stops.
    await asyncio.sleep(1.0)
    cpu, wall = cpu_s() - cpu0, time.perf_counter() - wall0
    emit({
        "connected": connected, "still_connected": count(), "events": events,
        "rss_connected_kb": rss_connected, "rss_end_kb": rss_kb(),
        "cpu_s": cpu, "wall_s": wall, "publish_s": publish_s,
        "fanout_ms": statistics.median(fanout_ms),
    })
    await read_command()  # "stop"


# ---------------------------------------------------------------- clients


class BenchClient:
    """A WebSocket client that does the least: frame lengths, the `ts` of
    event frames, and pongs. It reads with the kernel's receive timestamp
    (SO_TIMESTAMPNS), so the latency it records is the server's: when the
    frame reached this socket, not when this busy process got round to it."""

    def __init__(self, sock: socket.socket, sink: ClientSink, buffer: bytes) -> None:
        self.sock, self.sink, self.buffer = sock, sink, buffer
        self.closed = False

    def on_readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 18, 64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.lost()
            return
        now = time.time()
        arrived = now
        for _, kind, raw in ancillary:
            if kind == SCM_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack_from(raw)
                arrived = sec + nsec * 1e-9
        buffer = self.buffer + data if self.buffer else data
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            opcode, length = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buffer[pos + 2:pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2:pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            if opcode == 0x1:
                if buffer.startswith(EVENT_PREFIX, start):
                    at = buffer.find(TS_KEY, start, end) + len(TS_KEY)
                    ts = float(buffer[at:buffer.find(b",", at)])
                    self.sink.record(arrived - ts, now - ts)
            elif opcode == 0x9:
                self.pong(buffer[start:end])
            elif opcode == 0x8:
                self.lost()
                return
            pos = end
        self.buffer = buffer[pos:]

    def pong(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.sock.send(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + mask + masked)
        except OSError:
            self.lost()

    def lost(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().remove_reader(self.sock.fileno())


async def open_client(port: int, sink: ClientSink) -> BenchClient:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16))
        await loop.sock_sendall(
            sock,
            b"GET /ws HTTP/1.1\r\nHost: " + f"127.0.0.1:{port}".encode()
            + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
            + b"\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        head = b""
        while (end := head.find(b"\r\n\r\n")) < 0:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head[:80].decode(errors="replace"))
    except BaseException:
        sock.close()
        raise
    client = BenchClient(sock, sink, head[end + 4:])
    loop.add_reader(sock.fileno(), client.on_readable)
    return client


class ClientSink:
    def __init__(self) -> None:
        self.recording = False
        self.latencies = array.array("d")  # at the socket (kernel timestamp)
        self.seen = array.array("d")  # when this process read it

    def record(self, latency: float, seen: float) -> None:
        if self.recording:
            self.latencies.append(latency)
            self.seen.append(seen)


async def run_clients(port: int, count: int, out: str, nice: int) -> None:
    """One client process: connect, report, record until told to stop."""
    raise_nofile()
    os.nice(nice)
    loop = asyncio.get_running_loop()
    sink = ClientSink()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients: list[BenchClient] = []
    failed = 0

    async def connect() -> None:
        nonlocal failed
        async with gate:
            for attempt in range(5):
                try:
                    clients.append(await asyncio.wait_for(open_client(port, sink), 30))
                    return
                except (OSError, TimeoutError):
                    await asyncio.sleep(0.1 * (attempt + 1))
            failed += 1

    await asyncio.gather(*(connect() for _ in range(count)))
    emit({"connected": len(clients), "failed": failed})
    assert await read_command() == "go"
    sink.recording = True
    await read_command()  # "stop"
    sink.recording = False
    data = sink.latencies.tobytes() + sink.seen.tobytes()
    await loop.run_in_executor(None, Path(out).write_bytes, data)
    emit({"frames": len(sink.latencies), "lost": sum(c.closed for c in clients)})
    for client in clients:
        client.sock.close()


# ---------------------------------------------------------------- the run


def widen_port_range(needed: int) -> None:
    path = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low, high = map(int, path.read_text().split())
    if high - low >= needed:
        return
    try:
        path.write_text("1024 65000\n")
        print(f"# widened ip_local_port_range from {low}-{high} to 1024-65000", file=sys.stderr)
    except OSError:
        print(f"# ip_local_port_range {low}-{high} may be too narrow", file=sys.stderr)


class Child:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child {self.proc.args[2:]} ended: {self.proc.wait()}")
        message: dict[str, Any] = json.loads(line)
        return message

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def end(self) -> None:
        try:
            self.send("stop")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def one_run(
    variant: str, clients: int, rate: float, duration: float, procs: int, nice: int,
    heartbeat: float,
) -> dict[str, Any]:
    server = Child(["--role", "server", "--variant", variant, "--heartbeat", str(heartbeat),
                    "--rate", str(rate), "--duration", str(duration)])
    ready = server.read()
    port = ready["port"]
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    shares = [s for s in shares if s]
    with tempfile.TemporaryDirectory() as tmp:
        outs = [os.path.join(tmp, f"lat{i}.bin") for i in range(len(shares))]
        children = [
            Child(["--role", "clients", "--port", str(port), "--count", str(share),
                   "--out", out, "--nice", str(nice)])
            for share, out in zip(shares, outs, strict=True)
        ]
        connects = [c.read() for c in children]
        time.sleep(1.0)  # let the server settle after the connection storm
        for child in children:
            child.send("go")
        server.send("go")
        report = server.read()
        for child in children:
            child.send("stop")
        finals = [c.read() for c in children]
        latencies, seen = array.array("d"), array.array("d")
        for out in outs:
            both = array.array("d", Path(out).read_bytes())
            half = len(both) // 2
            latencies.extend(both[:half])
            seen.extend(both[half:])
        for child in children:
            child.end()
    server.end()
    ms = sorted(x * 1000 for x in latencies)
    seen_ms = sorted(x * 1000 for x in seen)
    connected = sum(c["connected"] for c in connects)

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")

    return {
        "variant": variant, "clients": clients, "rate": rate,
        "connected": connected, "lost": clients - report["still_connected"],
        "p50_ms": pct(ms, 0.50), "p99_ms": pct(ms, 0.99),
        "max_ms": ms[-1] if ms else float("nan"), "seen_p99_ms": pct(seen_ms, 0.99),
        "frames": len(ms), "expected": report["events"] * connected,
        "fps": len(ms) / report["publish_s"],
        "fanout_ms": report["fanout_ms"],
        "capacity_fps": connected / (report["fanout_ms"] / 1000) if report["fanout_ms"] else 0,
        "cpu_pct": 100 * report["cpu_s"] / report["wall_s"],
        "cpu_ms_per_event": 1000 * report["cpu_s"] / report["events"],
        "rss_per_client_kb": (report["rss_connected_kb"] - ready["rss_kb"]) / max(connected, 1),
        "client_lost": sum(f["lost"] for f in finals),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| clients | ev/s | server | p50 ms | p99 ms | max ms | frames/s | delivered "
        "| fan-out ms | capacity frames/s | CPU % | CPU ms/event | RSS kB/client | lost "
        "| read p99 ms |\n"
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['clients']:,} | {r['rate']:g} | {r['variant']} | {r['p50_ms']:.1f} "
        f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['fps']:,.0f} "
        f"| {100 * r['frames'] / max(r['expected'], 1):.1f} % | {r['fanout_ms']:.2f} "
        f"| {r['capacity_fps']:,.0f} | {r['cpu_pct']:.1f} | {r['cpu_ms_per_event']:.1f} "
        f"| {r['rss_per_client_kb']:.1f} "
        f"| {r['lost'] + (r['clients'] - r['connected'])} | {r['seen_p99_ms']:.1f} |"
        for r in rows
    ]
    return head + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="100,1000,5000,10000")
    parser.add_argument("--rates", default="1,10")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=1, help="report the median-p99 run of each")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--nice", type=int, default=10,
        help="niceness of the client processes, so that the server is not starved",
    )
    parser.add_argument(
        "--heartbeat", type=float, default=20.0,
        help="ping interval of the hub and websockets servers, s (0: none)",
    )
    parser.add_argument("--json", help="also write every run's figures to this file")
    parser.add_argument("--role", choices=("run", "server", "clients"), default="run")
    parser.add_argument("--variant", choices=VARIANTS)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--out")
    args = parser.parse_args()
    heartbeat = args.heartbeat or None
    if args.role == "server":
        if profile := os.environ.get("HUB_FANOUT_PROFILE"):
            import cProfile

            with cProfile.Profile() as profiler:
                asyncio.run(serve(args.variant, args.port, args.rate, args.duration, heartbeat))
            profiler.dump_stats(f"{profile}.{args.variant}")
            return
        asyncio.run(serve(args.variant, args.port, args.rate, args.duration, heartbeat))
        return
    if args.role == "clients":
        asyncio.run(run_clients(args.port, args.count, args.out, args.nice))
        return

    raise_nofile()
    counts = [int(c) for c in args.clients.split(",")]
    widen_port_range(max(counts) * 2)
    runs: dict[tuple[int, float, str], list[dict[str, Any]]] = {}
    # The whole matrix again on each repeat, so that drift in a noisy machine
    # hits every server alike.
    for _ in range(args.repeat):
        for clients in counts:
            for rate in (float(r) for r in args.rates.split(",")):
                for variant in args.variants.split(","):
                    row = one_run(
                        variant, clients, rate, args.duration, args.client_procs, args.nice,
                        args.heartbeat,
                    )
                    runs.setdefault((clients, rate, variant), []).append(row)
                    print(table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    # Per cell, the run with the median p99, whole (its figures belong together).
    rows = [sorted(cell, key=lambda r: r["p99_ms"])[len(cell) // 2] for cell in runs.values()]
    print(table(rows))
    if args.json:
        every = [row for cell in runs.values() for row in cell]
        Path(args.json).write_text(json.dumps(every, indent=1))


if __name__ == "__main__":
    main()
