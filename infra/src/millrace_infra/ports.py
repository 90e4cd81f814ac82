"""Checking and picking loopback ports."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    """True if nothing listens on host:port.

    SO_REUSEADDR mirrors what the JVM and Go servers set, so a port in TIME_WAIT after a
    previous stack counts as free (it is, for them) while a live listener does not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port the OS has just handed out as free (another process may still take it first)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def busy_ports(ports: Iterable[int], host: str = HOST) -> list[int]:
    return [port for port in ports if not port_is_free(port, host)]


EPHEMERAL_PORTS_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LINUX_EPHEMERAL_PORTS = (32768, 60999)


def ephemeral_ports(source: Path = EPHEMERAL_PORTS_FILE) -> tuple[int, int]:
    """The range (inclusive) the OS picks the local port of an outgoing connection from."""
    try:
        low, high = (int(part) for part in source.read_text().split())
    except (OSError, ValueError):
        return LINUX_EPHEMERAL_PORTS
    return low, high


def pick_free_base(
    ports_for: Callable[[int], Iterable[int]],
    *,
    low: int = 10000,
    high: int | None = None,
    attempts: int = 200,
    ephemeral: tuple[int, int] | None = None,
) -> int:
    """A base port whose whole derived port set is free right now and lies outside the
    ephemeral range.

    Outside it, because a server of the stack is stopped and started again on the same ports
    (fault tests, ``millrace-stack start``): while it is down, any client's outgoing
    connection could be given one of its ports as local port, and a client retrying a
    connection to it could even connect to itself (same port at both ends). Either holds the
    port, and the server cannot start again. The OS never hands out a port outside that range
    to a connection, so a block below it stays ours.

    Random rather than sequential so parallel test sessions rarely race for the same block;
    the OS cannot hand out a block atomically, so a small race remains and start() re-checks.
    """
    first, last = ephemeral or ephemeral_ports()
    span = max(ports_for(low)) - low
    if high is None:  # below the range if the block fits there (Linux: up to 32767), else above
        low, high = (low, first - span) if first - span > low else (last + 1, 65536 - span)
    if high <= low:
        raise RuntimeError(f"no room for a {span + 1}-port block outside {first}-{last}")
    rng = random.SystemRandom()
    for _ in range(attempts):
        base = rng.randrange(low, high)
        ports = list(ports_for(base))
        if any(first <= port <= last for port in ports):
            continue
        if not busy_ports(ports):
            return base
    raise RuntimeError(f"no free port block found in {low}-{high} after {attempts} tries")
