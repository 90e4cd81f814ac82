"""``demo``: the end-to-end walk-through that ``scripts/run`` performs."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


def demo(
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            help="Leave the services the demo started running afterwards (`millrace down` stops them).",
        ),
    ] = False,
) -> None:
    """Bring the platform up (as `millrace up`), then carry a dataset to a promoted model.

    Declares the `iris` dataset, publishes a file, follows the flow stage by stage
    (validated, trained, promoted or rejected, deployed), shows a bad file being rejected
    with its reasons, and prints the registry's view. Re-running it trains on a new sample.
    Then the model loop on a synthetic `sensors` dataset (`sensors-<timestamp>` when the
    registry already has `sensors`): model v1 served and called, newer data waiting, a
    client's traffic drifting, monitoring detecting it, retraining, promotion of v2 and the
    swap with no failed request, and the retraining flow's trace from Zipkin.
    Services that were already running are left running.
    """
    from ..demo import run_demo  # imported here: scikit-learn and pandas take seconds to load

    raise typer.Exit(asyncio.run(run_demo(keep_running=keep_running)))
