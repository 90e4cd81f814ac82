"""The one HTTP client every server is measured with (besides ``wrk`` for peak rates).

Run as its own process, pinned to the client CPU:

* ``open``: open-loop load. Request *i* is due at a fixed time from a seeded Poisson
  schedule, whatever happened to earlier requests; it goes out on an idle keep-alive
  connection, or a new one (up to ``--max-connections``, after which it queues and its
  latency counts from when it was due). Latency is measured from the moment the request was
  written, and the client's own lateness against the schedule (``lag``) is reported apart.
* ``single``: one keep-alive connection, one request at a time (blocking socket).
* ``closed``: N connections, each sending its next request as soon as the answer arrived
  (the fallback for peak rate when ``wrk`` is not installed).

Input: a JSON spec ``{"port", "path", "bodies": [str, ...], "headers": {...}}``; output: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any


def build_requests(spec: dict[str, Any]) -> list[bytes]:
    headers = {"Host": f"127.0.0.1:{spec['port']}", **spec.get("headers", {})}
    out = []
    for body in spec["bodies"]:
        data = body.encode()
        head = f"POST {spec['path']} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": str(len(data))}.items()
        )
        out.append(head.encode() + b"\r\n" + data)
    return out


class Response:
    """Incremental parser of HTTP/1.1 responses with Content-Length."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[int]:
        """Add bytes; return the status codes of the responses now complete."""
        self.buffer += data
        done: list[int] = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return done
            head = bytes(self.buffer[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buffer) < total:
                return done
            done.append(int(head.split(" ", 2)[1]))
            del self.buffer[:total]


# -- single connection -------------------------------------------------------------------


def single(spec: dict[str, Any], count: int, warmup: int) -> dict[str, Any]:
    requests = build_requests(spec)
    sock = socket.create_connection(("127.0.0.1", spec["port"]))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    parser = Response()
    timings: list[float] = []
    errors = 0
    for i in range(warmup + count):
        request = requests[i % len(requests)]
        started = time.perf_counter()
        sock.sendall(request)
        statuses: list[int] = []
        while not statuses:
            data = sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            statuses = parser.feed(data)
        elapsed = time.perf_counter() - started
        if i >= warmup:
            timings.append(elapsed)
            errors += sum(1 for s in statuses if s != 200)
    sock.close()
    return {"timings_ms": [t * 1000 for t in timings], "errors": errors}


# -- open loop ---------------------------------------------------------------------------


class _Conn(asyncio.Protocol):
    def __init__(self, client: _OpenLoop) -> None:
        self.client = client
        self.parser = Response()
        self.transport: Any = None
        self.sent_at = 0.0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport instances
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        for status in self.parser.feed(data):
            self.client.completed(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.client.broken(self)

    def send(self, request: bytes, start: float) -> None:
        assert self.transport is not None
        self.sent_at = start
        self.transport.write(request)


class _OpenLoop:
    def __init__(self, spec: dict[str, Any], max_connections: int) -> None:
        self.spec = spec
        self.requests = build_requests(spec)
        self.max_connections = max_connections
        self.idle: deque[_Conn] = deque()
        self.all: list[_Conn] = []
        self.queue: deque[tuple[int, float]] = deque()
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.errors = 0
        self.outstanding = 0
        self.connecting = 0
        self.next_index = 0
        self.done = asyncio.Event()
        self.finished_sending = False
        self.tasks: set[asyncio.Future[None]] = set()

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.connecting += 1
        try:
            _, conn = await loop.create_connection(
                lambda: _Conn(self), "127.0.0.1", self.spec["port"]
            )
        finally:
            self.connecting -= 1
        self.all.append(conn)
        self._use(conn)

    def _use(self, conn: _Conn) -> None:
        if self.queue:
            index, due = self.queue.popleft()
            # Queued: the client had no connection for it, so its latency counts from due.
            conn.send(self.requests[index % len(self.requests)], due)
        else:
            self.idle.append(conn)

    def dispatch(self, index: int, due: float, now: float) -> None:
        self.outstanding += 1
        self.lags.append(now - due)
        if self.idle:
            self.idle.popleft().send(self.requests[index % len(self.requests)], now)
            return
        self.queue.append((index, due))
        if len(self.all) + self.connecting < self.max_connections:
            task = asyncio.ensure_future(self.connect())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def completed(self, conn: _Conn, status: int) -> None:
        self.latencies.append(time.perf_counter() - conn.sent_at)
        if status != 200:
            self.errors += 1
        self.outstanding -= 1
        self._use(conn)
        if self.finished_sending and self.outstanding == 0:
            self.done.set()

    def broken(self, conn: _Conn) -> None:
        if conn in self.idle:
            self.idle.remove(conn)
        if conn in self.all:
            self.all.remove(conn)


async def open_loop(
    spec: dict[str, Any], rate: float, duration: float, seed: int, connections: int, cap: int
) -> dict[str, Any]:
    client = _OpenLoop(spec, cap)
    await asyncio.gather(*(client.connect() for _ in range(connections)))
    rng = random.Random(seed)
    schedule: list[float] = []
    t = 0.0
    while t < duration:
        t += rng.expovariate(rate)
        schedule.append(t)
    start = time.perf_counter() + 0.05
    for index, offset in enumerate(schedule):
        due = start + offset
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
            now = time.perf_counter()
        client.dispatch(index, due, now)
    client.finished_sending = True
    if client.outstanding:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.done.wait(), 30)
    elapsed = time.perf_counter() - start
    for conn in client.all:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "latencies_ms": [x * 1000 for x in client.latencies],
        "lags_ms": [x * 1000 for x in client.lags],
        "sent": len(schedule),
        "completed": len(client.latencies),
        "errors": client.errors,
        "unanswered": client.outstanding,
        "elapsed": elapsed,
        "target_rate": rate,
        "connections_used": len(client.all),
    }


# -- closed loop (fallback for peak rate) ------------------------------------------------


async def closed_loop(spec: dict[str, Any], connections: int, duration: float) -> dict[str, Any]:
    """``spec["ports"]`` (optional, several replicas): connection i goes to ports[i % n], so
    the same connections are spread evenly, as a round-robin load balancer would."""
    requests = build_requests(spec)
    ports: list[int] = spec.get("ports") or [spec["port"]]
    count = 0
    errors = 0
    dropped = 0
    per_port = {str(p): 0 for p in ports}
    stop_at = time.perf_counter() + duration

    async def worker(index: int) -> None:
        nonlocal count, errors, dropped
        port = ports[index % len(ports)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        parser = Response()
        i = index * 7
        while time.perf_counter() < stop_at:
            writer.write(requests[i % len(requests)])
            i += 1
            statuses: list[int] = []
            while not statuses:
                data = await reader.read(1 << 16)
                if not data:
                    dropped += 1  # a request the server never answered
                    return
                statuses = parser.feed(data)
            count += 1
            per_port[str(port)] += 1
            errors += sum(1 for s in statuses if s != 200)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "requests": count,
        "errors": errors,
        "dropped": dropped,
        "per_port": per_port,
        "elapsed": elapsed,
        "rate": count / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["open", "single", "closed"])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-connections", type=int, default=512)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    if args.mode == "single":
        result = single(spec, args.count, args.warmup)
    else:
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:
            runner = asyncio.run
        if args.mode == "open":
            result = runner(
                open_loop(
                    spec,
                    args.rate,
                    args.duration,
                    args.seed,
                    args.connections,
                    args.max_connections,
                )
            )
        else:
            result = runner(closed_loop(spec, args.connections, args.duration))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
