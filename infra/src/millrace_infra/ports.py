"""Checking and picking loopback ports."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterable

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


def pick_free_base(
    ports_for: Callable[[int], Iterable[int]],
    *,
    low: int = 20000,
    high: int = 50000,
    attempts: int = 200,
) -> int:
    """A base port whose whole derived port set is free right now.

    Random rather than sequential so parallel test sessions rarely race for the same block;
    the OS cannot hand out a block atomically, so a small race remains and start() re-checks.
    """
    rng = random.SystemRandom()
    for _ in range(attempts):
        base = rng.randrange(low, high)
        if not busy_ports(ports_for(base)):
            return base
    raise RuntimeError(f"no free port block found in {low}-{high} after {attempts} tries")
