"""A TCP connect: the cheapest "is anything listening there" check."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def tcp_answers(address: str, *, default_port: int = 80, timeout: float = 2.0) -> bool:
    """``host:port``, a comma-separated list (the first is tried) or a URL."""
    first = address.split(",")[0].strip()
    if "://" in first:
        parts = urlsplit(first)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    else:
        name, sep, number = first.rpartition(":")
        host, port = (name, int(number)) if sep and number.isdigit() else (first, default_port)
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False
