"""The ``millrace`` commands, one module per group; the options several of them share."""

from __future__ import annotations

from typing import Annotated

import typer

Json = Annotated[bool, typer.Option("--json", help="JSON output.")]
ModelName = Annotated[str, typer.Argument(metavar="NAME", help="Model name.")]
Wait = Annotated[
    bool,
    typer.Option("--wait", help="Follow the flow stage by stage until promotion or rejection."),
]
Timeout = Annotated[float, typer.Option(help="Seconds --wait waits for the flow to end.")]
DeploymentTimeout = Annotated[
    float,
    typer.Option(help="After a promotion, seconds --wait waits for the deployment (when it runs)."),
]
