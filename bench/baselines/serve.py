"""The one way the bare baseline servers run: uvicorn with uvloop and httptools, one worker on
127.0.0.1, no access log. Run as scripts, the baselines import it by its file name (their
folder is on ``sys.path``); it imports only uvicorn, which their environment has."""

from __future__ import annotations

from typing import Any

import uvicorn


def serve(app: Any, port: int, **settings: Any) -> None:
    """Serve ``app`` until stopped; ``settings`` adds to uvicorn's (e.g. ``lifespan="off"``)."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        **settings,
    )
