"""Readiness probes that need no client library: a raw Kafka request and plain HTTP GETs."""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
from pathlib import Path

_API_VERSIONS = 18
_API_VERSIONS_V3 = 3


def _api_versions_request(correlation_id: int) -> bytes:
    # Request header v2 (flexible): api key, version, correlation id, client id, no tags.
    client_id = b"millrace-stack"
    header = struct.pack(">hhih", _API_VERSIONS, _API_VERSIONS_V3, correlation_id, len(client_id))
    header += client_id + b"\x00"
    # Body v3: compact strings (length + 1 as a one-byte varint) for software name/version.
    name, version = b"millrace-stack", b"1"
    body = bytes([len(name) + 1]) + name + bytes([len(version) + 1]) + version + b"\x00"
    message = header + body
    return struct.pack(">i", len(message)) + message


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        data += chunk
    return data


def kafka_answers(host: str, port: int, timeout: float = 2.0, cafile: Path | None = None) -> bool:
    """True once the broker serves requests, not merely accepts TCP.

    A KRaft broker binds its listener early but only processes requests once it has caught
    up with the metadata log and is unfenced, so an ApiVersions answer with error code 0 is
    the same moment "Kafka Server started" is logged. With cafile the listener is TLS
    (trusting that CA); a SASL listener answers ApiVersions before authentication, which is
    how clients learn its SASL versions.
    """
    correlation_id = 0x4D52  # arbitrary; checked so a stray byte stream cannot pass
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            sock = raw
            if cafile is not None:
                context = ssl.create_default_context(cafile=str(cafile))
                sock = context.wrap_socket(raw, server_hostname=host)
            with sock:
                sock.sendall(_api_versions_request(correlation_id))
                (size,) = struct.unpack(">i", _read_exact(sock, 4))
                if size < 6:
                    return False
                got_id, error_code = struct.unpack(">ih", _read_exact(sock, 6))
    except (OSError, struct.error):
        return False
    return bool(got_id == correlation_id and error_code == 0)


def http_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """True on any HTTP response: an S3 server answers an anonymous GET / with 403."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    return True


def http_status(host: str, port: int, path: str, timeout: float = 2.0) -> int | None:
    """The status code of GET path, or None when nothing answers HTTP there."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return response.status


def zipkin_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """True once Zipkin's /health is 200: storage up, span intake and query API served
    (Armeria opens its one port only when every service is bound)."""
    return http_status(host, port, "/health", timeout) == 200
