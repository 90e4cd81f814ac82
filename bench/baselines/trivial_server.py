"""A raw ASGI app that answers every request with ``{}``: the fastest Python server here,
used to measure the load clients' own ceiling and overhead.

Usage: python trivial_server.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

from serve import serve

BODY = b'{"prediction":"yes"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    serve(app, int(sys.argv[1]), lifespan="off")
