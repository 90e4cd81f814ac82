"""``up``, ``down``: the local stack and the five services as background processes."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from millrace_infra import StackConfig

from ..catalog import DEFAULT_BASE_PORT, NAMES, default_ports
from ..console import err, out
from ..endpoints import Endpoints, resolve, stack_config
from ..errors import CliError, ExitCode
from ..lifecycle import UpResult, bring_down, bring_up
from .status import endpoints_table


def parse_ports(values: list[str], base: int) -> dict[str, int]:
    """``--port registry=9103`` overrides on top of ``base`` .. ``base+4``."""
    ports = default_ports(base)
    for value in values:
        name, sep, port = value.partition("=")
        name = name.strip()
        if not sep or name not in ports or not port.strip().isdigit():
            raise CliError(
                f"--port {value!r}: expected NAME=PORT with NAME one of {', '.join(NAMES)}",
                ExitCode.USAGE,
            )
        ports[name] = int(port)
    if len(set(ports.values())) != len(ports):
        raise CliError(f"service ports overlap: {ports}", ExitCode.USAGE)
    return ports


def chosen_services(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise CliError(
            f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}",
            ExitCode.USAGE,
        )
    return [n for n in NAMES if n in names] if names else list(NAMES)


def up(
    service: Annotated[
        list[str],
        typer.Option(
            "--service",
            "-s",
            metavar="NAME",
            help="Start only this service (repeatable); default: all five that are installed.",
        ),
    ] = [],  # noqa: B006 - typer reads the default, it is never mutated
    port: Annotated[
        list[str],
        typer.Option(
            metavar="NAME=PORT", help="Port of one service (repeatable), e.g. registry=9103."
        ),
    ] = [],  # noqa: B006
    services_base_port: Annotated[
        int,
        typer.Option(
            envvar="MILLRACE_SERVICES_BASE_PORT",
            help="Port of ingestion; training, registry, deployment, monitoring take the next four.",
        ),
    ] = DEFAULT_BASE_PORT,
    stack_base_port: Annotated[
        int | None,
        typer.Option(
            help="First port of the local stack (Kafka); default: $MILLRACE_STACK_BASE_PORT or 19092.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the stack and for each service.")
    ] = 120.0,
) -> None:
    """Start the local stack (Kafka, S3, Zipkin) and the services, and wait until ready.

    Idempotent: what already runs is left alone. Services run in the background with their
    logs in .millrace/logs/SERVICE.log; pids and ports are recorded in
    .millrace/services.json. Services whose package is not installed are skipped with a note.
    With MILLRACE_KAFKA_BOOTSTRAP and MILLRACE_S3_ENDPOINT set, the services use that
    Kafka and S3 instead of the local stack.
    """
    ports = parse_ports(port, services_base_port)
    names = chosen_services(service)
    config = _config(stack_base_port)
    result = asyncio.run(bring_up(names, ports, _report, within=timeout, config=config))
    endpoints = resolve()
    out.print(endpoints_table(endpoints, only_services=set(result.running)))
    _conclude(result)


def _config(base_port: int | None) -> StackConfig:
    if base_port is None:
        return stack_config()
    current = StackConfig.from_env()
    return StackConfig.from_base_port(base_port, home=current.home, cache=current.cache)


def _report(line: str) -> None:
    err.print(line)


def _conclude(result: UpResult) -> None:
    if result.failed:
        names = ", ".join(result.failed)
        raise CliError(
            f"not ready: {names} (see the log above; `millrace down` stops the rest)",
            ExitCode.TIMEOUT
            if all(e.code == ExitCode.TIMEOUT for e in result.failed.values())
            else ExitCode.FAILURE,
        )
    err.print("[green]up.[/] `millrace status` shows health; `millrace down` stops everything.")


def down(
    keep_stack: Annotated[
        bool, typer.Option("--keep-stack", help="Stop the services but leave Kafka and S3 running.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds a service has to stop before SIGKILL.")
    ] = 20.0,
) -> None:
    """Stop the services, then the local stack (its data is kept)."""
    endpoints: Endpoints = resolve()
    result = bring_down(endpoints, keep_stack=keep_stack, timeout=timeout)
    err.print(
        f"services stopped: {', '.join(result.services)}"
        if result.services
        else "no service was running"
    )
    if result.stack is None:
        err.print("stack kept running (--keep-stack)")
    else:
        err.print(
            f"stack stopped: {', '.join(result.stack)}"
            if result.stack
            else "the stack was not running"
        )
