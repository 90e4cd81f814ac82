"""``admin``: an operator's commands for a cluster Millrace runs on (topics, ACLs, users).

Thin: what to change is computed by millrace_infra (kafka_plan, kafka_provision) from the
topic catalogue; this module finds the admin's credentials, prints the plan and applies it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from millrace_contracts.topics import Replication
from millrace_infra import StackError, StackInfo
from millrace_infra.kafka_plan import GrantedAcl, ProvisionPlan
from rich.console import Console
from rich.markup import escape

from ..console import err, out, print_json
from ..endpoints import Endpoints, resolve
from ..errors import CliError, ExitCode
from ..net import tcp_answers

app = typer.Typer(help="Operators' commands: provision a cluster.", no_args_is_help=True)
kafka_app = typer.Typer(
    help="Kafka: topics, ACLs and SCRAM users from the topic catalogue.", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")


@dataclass(frozen=True)
class AdminConnection:
    """How to reach the cluster as its admin (a super user, or one allowed to create topics,
    describe and alter ACLs and SCRAM credentials)."""

    bootstrap: str
    security_protocol: str
    sasl_mechanism: str
    username: str | None
    password: str | None
    cafile: Path | None


def admin_connection(
    endpoints: Endpoints,
    *,
    bootstrap: str | None = None,
    username: str | None = None,
    password: str | None = None,
    cafile: Path | None = None,
) -> AdminConnection:
    """Options first, then MILLRACE_KAFKA_*; on the secured local stack (no Kafka settings in
    the environment), its own admin from the stack's home."""
    s = endpoints.settings
    env: dict[str, str] = {}
    local = (
        endpoints.origins.get("kafka") == "stack" and endpoints.origins.get("kafka_auth") != "env"
    )
    if local and endpoints.stack.secure:
        try:
            env = StackInfo.for_config(endpoints.stack).kafka_env("admin")
        except StackError as error:
            raise CliError(f"no admin credentials for the local stack: {error}") from error
    stored_password = s.kafka_sasl_password.get_secret_value() if s.kafka_sasl_password else None
    stored_cafile = env.get("MILLRACE_KAFKA_TLS_CAFILE") or s.kafka_tls_cafile
    return AdminConnection(
        bootstrap=bootstrap or s.kafka_bootstrap,
        security_protocol=env.get("MILLRACE_KAFKA_SECURITY_PROTOCOL", s.kafka_security_protocol),
        sasl_mechanism=env.get("MILLRACE_KAFKA_SASL_MECHANISM")
        or s.kafka_sasl_mechanism
        or "SCRAM-SHA-512",
        username=username or env.get("MILLRACE_KAFKA_SASL_USERNAME") or s.kafka_sasl_username,
        password=password or env.get("MILLRACE_KAFKA_SASL_PASSWORD") or stored_password,
        cafile=cafile or (Path(stored_cafile) if stored_cafile else None),
    )


def plan_as_dict(plan: ProvisionPlan) -> dict[str, Any]:
    return {
        "create_topics": list(plan.create_topics),
        "add_acls": [str(GrantedAcl.of(b)) for b in plan.add_acls],
        "remove_acls": [str(a) for a in plan.remove_acls],
        "create_users": list(plan.create_users),
    }


def print_plan(plan: ProvisionPlan, *, heading: str, console: Console = out) -> None:
    if plan.empty:
        console.print(
            "nothing to do: the cluster has every topic, ACL and user the catalogue implies"
        )
        return
    console.print(heading)
    sections = (
        ("topics to create", plan.create_topics, "green"),
        ("ACLs to add", [str(GrantedAcl.of(b)) for b in plan.add_acls], "green"),
        ("ACLs to remove", [str(a) for a in plan.remove_acls], "red"),
        ("SCRAM users to create", plan.create_users, "green"),
    )
    for title, items, colour in sections:
        if items:
            console.print(f"[bold]{title}[/] ({len(items)})")
            sign = "-" if colour == "red" else "+"
            for item in items:
                console.print(f"  [{colour}]{sign}[/] {escape(str(item))}", soft_wrap=True)


@kafka_app.command("provision")
def provision(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also remove ALLOW ACLs of User:millrace-* principals on millrace. topics and "
            "millrace- groups that the catalogue no longer implies (nothing else is touched).",
        ),
    ] = False,
    users: Annotated[
        Path | None,
        typer.Option(
            "--users",
            metavar="FILE",
            help="Also create the SCRAM-SHA-512 users of the principals the cluster lacks, with "
            "passwords kept in FILE (JSON, user to password, 0600; existing entries reused).",
        ),
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (else MILLRACE_KAFKA_BOOTSTRAP).")
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(help="Admin user (else MILLRACE_KAFKA_SASL_USERNAME)."),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            metavar="VAR",
            help="Read the admin's password from this environment variable (else "
            "MILLRACE_KAFKA_SASL_PASSWORD); never on the command line.",
        ),
    ] = None,
    cafile: Annotated[
        Path | None, typer.Option(help="CA certificate (else MILLRACE_KAFKA_TLS_CAFILE).")
    ] = None,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of new topics.")] = 3,
    replication_factor: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Replication factor of new topics (min.insync.replicas one less, at least 1); "
            "by default 3 on three brokers or more, else one per broker.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON.")] = False,
) -> None:
    """Create the missing topics (each with its .dlq) and the ACLs the topic catalogue implies
    on a secured cluster, as its admin; a second run has nothing to do."""
    # Imported here: librdkafka is only needed by this command.
    from millrace_infra.kafka_provision import admin_client, apply_plan, read_plan, settle
    from millrace_infra.kafka_security import passwords_for

    endpoints = resolve()
    password = os.environ.get(password_env) if password_env else None
    if password_env and not password:
        raise CliError(f"{password_env} is not set")
    conn = admin_connection(
        endpoints, bootstrap=bootstrap, username=username, password=password, cafile=cafile
    )
    if not tcp_answers(conn.bootstrap.split(",")[0]):
        raise CliError(f"Kafka is not reachable at {conn.bootstrap}", ExitCode.UNREACHABLE)
    if conn.security_protocol.upper().startswith("SASL") and not (conn.username and conn.password):
        raise CliError("no admin credentials: set MILLRACE_KAFKA_SASL_USERNAME / _PASSWORD")
    admin = admin_client(
        conn.bootstrap,
        conn.cafile,
        conn.password or "",
        username=conn.username or "",
        security_protocol=conn.security_protocol,
        sasl_mechanism=conn.sasl_mechanism,
        client_id="millrace-cli-provision",
    )
    passwords: dict[str, str] = {}
    try:
        plan = read_plan(admin, prune=prune, users=users is not None)
        if as_json:
            print_json({"dry_run": dry_run, **plan_as_dict(plan)})
        else:
            print_plan(plan, heading="plan" if dry_run else "applying")
        if dry_run or plan.empty:
            return
        if users is not None and plan.create_users:
            passwords = passwords_for(users, plan.create_users)
        replication = (
            None
            if replication_factor is None
            else Replication(factor=replication_factor, min_insync=max(1, replication_factor - 1))
        )
        apply_plan(admin, plan, passwords, partitions=partitions, replication=replication)
        left = settle(admin, prune=prune, users=users is not None)
    except StackError as error:
        raise CliError(f"provisioning {conn.bootstrap} failed: {error}") from error
    if passwords:
        err.print(f"passwords of the new users are in {users} (0600)")
    if not left.empty:
        err.print("[yellow]the cluster does not show all of it yet; run again to check:[/]")
        print_plan(left, heading="still missing", console=err)
    elif not as_json:
        out.print("done")
