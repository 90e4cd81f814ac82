"""`millrace-stack`: run the local Kafka + S3 + Zipkin stack from a shell."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from millrace_infra.config import KAFKA_VERSION, MAX_BROKERS, ZIPKIN_VERSION, StackConfig
from millrace_infra.errors import StackError
from millrace_infra.kafka_acls import ADMIN_USER
from millrace_infra.kafka_fetch import fetch_kafka, is_fetched, kafka_dist
from millrace_infra.kafka_security import resolve_user
from millrace_infra.stack import kafka_client_env, start, status, stop
from millrace_infra.state import StackInfo, read_state
from millrace_infra.zipkin import fetch_zipkin, zipkin_dist, zipkin_jar
from millrace_infra.zipkin import is_fetched as zipkin_fetched

app = typer.Typer(
    help=(
        "Run Millrace's local stack without Docker: Apache Kafka "
        f"{KAFKA_VERSION} (KRaft: one node, or a local cluster with --brokers 3), an S3 API (SeaweedFS) and Zipkin {ZIPKIN_VERSION} "
        "(spans in, query API and UI out). Data, logs and pids live in $MILLRACE_HOME (default: "
        ".millrace/ at the project root); ports derive from $MILLRACE_STACK_BASE_PORT (default "
        "19092: Kafka 19092, controller 19093, S3 19094, Zipkin 19103 "
        "with its UI at /zipkin/)."
    ),
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

BasePort = Annotated[
    int | None,
    typer.Option(help="First of the stack's ports (default: $MILLRACE_STACK_BASE_PORT or 19092)."),
]
NoZipkin = Annotated[
    bool,
    typer.Option(
        "--no-zipkin",
        envvar="MILLRACE_STACK_NO_ZIPKIN",
        help="Leave Zipkin out (no trace backend, no trace UI).",
    ),
]
Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        envvar="MILLRACE_STACK_INSECURE",
        help=(
            "Plaintext Kafka without authentication or ACLs, for debugging. By default Kafka "
            "runs over SASL_SSL (SCRAM-SHA-512, TLS from a local CA) with ACLs from the topic "
            "catalogue; `millrace-stack env --principal NAME` prints a principal's settings."
        ),
    ),
]


def _config(base_port: int | None) -> StackConfig:
    """Explicit --base-port wins; else the ports of a stack already started in this home."""
    config = StackConfig.from_env()
    if base_port is not None:
        return StackConfig.from_base_port(
            base_port, home=config.home, cache=config.cache, secure=config.secure
        )
    return read_state(config.home) or config


def _fetch(config: StackConfig) -> None:
    """Fetch what is missing; Kafka's and Zipkin's fetches side by side on a fresh machine.

    They share nothing: each has its own folder and lock, and Zipkin's Maven run uses a local
    repository of its own (Maven 3.8 does not lock ~/.m2 across processes). Kafka is many
    small downloads (latency), Zipkin one large one (bandwidth): together they take about the
    longer of the two.
    """
    jobs: dict[str, Callable[[Path], Path]] = {}
    if not is_fetched(config.cache):
        err.print(
            f"Fetching Kafka {KAFKA_VERSION} from Maven Central into {kafka_dist(config.cache)} "
            "(first run only; takes a minute or so)..."
        )
        jobs["Kafka"] = fetch_kafka
    if config.zipkin and not zipkin_fetched(config.cache):
        err.print(
            f"Fetching Zipkin {ZIPKIN_VERSION} from Maven Central into "
            f"{zipkin_dist(config.cache)} (first run only; one ~131 MB jar)..."
        )
        jobs["Zipkin"] = fetch_zipkin
    if not jobs:
        return
    began = time.monotonic()
    with (
        err.status(f"mvn dependency:copy-dependencies ({' and '.join(jobs)})"),
        ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="fetch") as pool,
    ):
        running = [pool.submit(job, config.cache) for job in jobs.values()]
        for future in running:
            future.result()  # the first failure raises (the other fetch still completes)
    err.print(f"Fetched in {time.monotonic() - began:.1f} s.")


def _fail(exc: StackError) -> typer.Exit:
    # soft_wrap: the message often ends in a log tail, which must not be re-wrapped.
    err.print("[red]error:[/red]", end=" ")
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _print_info(info: StackInfo, *, secure: bool = False) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("Kafka bootstrap", info.kafka_bootstrap)
    if secure:
        table.add_row("Kafka security", "SASL_SSL, SCRAM-SHA-512, ACLs (env --principal NAME)")
    table.add_row("S3 endpoint", f"http://{info.s3_endpoint}")
    table.add_row("S3 access key", info.s3_access_key)
    table.add_row("S3 secret key", info.s3_secret_key)
    if info.zipkin_url:
        table.add_row("Zipkin UI", f"{info.zipkin_url}/zipkin/")
        table.add_row("Zipkin spans endpoint", f"{info.zipkin_url}/api/v2/spans")
    table.add_row("home", str(info.home))
    out.print(table)


@app.command()
def up(
    base_port: BasePort = None,
    no_zipkin: NoZipkin = False,
    insecure: Insecure = False,
    brokers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_BROKERS,
            envvar="MILLRACE_STACK_BROKERS",
            help=(
                "Kafka nodes (broker + controller each): 3 runs a local cluster whose topics "
                "keep 3 copies with min.insync.replicas 2 (default: 1, or what this home "
                "was started with)."
            ),
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 90.0,
) -> None:
    """Fetch Kafka (and Zipkin) if needed, start the servers that are not running yet
    and wait until all are ready."""
    config = _config(base_port)
    running = read_state(config.home)
    if running is not None and running.secure == insecure:
        kind = "secured" if running.secure else "plaintext (--insecure)"
        err.print(f"the stack in {config.home} runs {kind}: millrace-stack down first")
        raise typer.Exit(2)
    # Secured unless asked; a home formatted the other way is refused by start() with a hint.
    config = replace(
        config,
        zipkin=not no_zipkin,
        secure=not insecure,
        brokers=brokers or config.brokers,
    )
    try:
        _fetch(config)
        began = time.monotonic()
        kafka = "Kafka" if config.brokers == 1 else f"Kafka ({config.brokers} brokers)"
        names = f"{kafka}, S3 and Zipkin" if config.zipkin else f"{kafka} and S3"
        with err.status(f"starting {names}..."):
            info = start(config, timeout=timeout)
    except StackError as exc:
        raise _fail(exc) from exc
    err.print(f"[green]ready[/green] in {time.monotonic() - began:.1f} s")
    _print_info(info, secure=config.secure)


@app.command()
def down(
    timeout: Annotated[float, typer.Option(help="Seconds before SIGKILL.")] = 30.0,
) -> None:
    """Stop the stack's servers (SIGTERM, then SIGKILL after --timeout). Data is kept (but
    Zipkin's traces live in memory only)."""
    stopped = stop(_config(None), timeout=timeout)
    out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command(name="status")
def status_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each server's pid, endpoint and health; exit code 1 unless all are healthy."""
    report = status(_config(None))
    if as_json:
        typer.echo(json.dumps({n: s.as_dict() for n, s in report.items()}, indent=2))
    else:
        table = Table("component", "running", "healthy", "pid", "endpoint")
        table.add_column("log", overflow="fold")
        for s in report.values():
            mark = "[green]yes[/green]" if s.healthy else "[red]no[/red]"
            table.add_row(s.name, str(s.running), mark, str(s.pid or "-"), s.endpoint, s.log)
        out.print(table)
    if not all(s.healthy for s in report.values()):
        raise typer.Exit(1)


@app.command()
def fetch(no_zipkin: NoZipkin = False) -> None:
    """Download Kafka's jars and Zipkin's with Maven, into the cache
    ($MILLRACE_CACHE); no-op when done."""
    config = replace(_config(None), zipkin=not no_zipkin)
    try:
        _fetch(config)
    except StackError as exc:
        raise _fail(exc) from exc
    out.print(f"Kafka {KAFKA_VERSION} jars: {kafka_dist(config.cache) / 'libs'}")
    if config.zipkin:
        out.print(f"Zipkin {ZIPKIN_VERSION} jar: {zipkin_jar(config.cache)}")


@app.command()
def env(
    principal: Annotated[
        str | None,
        typer.Option(
            help=(
                "On a secured stack, the Kafka principal to act as: a service (ingestion, "
                "training, registry, deployment, monitoring), data-teams, application-teams "
                "or operators."
            )
        ),
    ] = None,
) -> None:
    """Print `export MILLRACE_...` lines for the running stack: eval "$(millrace-stack env)"."""
    config = _config(None)
    if not all(s.healthy for s in status(config).values()):
        err.print("the stack is not running (millrace-stack up)")
        raise typer.Exit(1)
    variables = StackInfo.for_config(config).env()
    if config.secure:
        if principal is None:
            # No silent default: which rights a shell gets should be a deliberate choice.
            err.print("the stack is secured: choose who to act as with --principal NAME")
            raise typer.Exit(2)
        try:
            if resolve_user(principal) == ADMIN_USER:
                # The super user stays with the stack: it creates topics and ACLs.
                raise StackError("the admin's credentials are not handed out")
            variables |= kafka_client_env(config, principal)
        except StackError as exc:
            raise _fail(exc) from exc
    elif principal is not None:
        err.print("the stack is not secured (started with --insecure): --principal is moot")
        raise typer.Exit(2)
    for key, value in variables.items():
        typer.echo(f"export {key}={shlex.quote(value)}")
