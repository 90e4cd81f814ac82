"""``models``: the registry's view, and manual promotion and rollback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated

import typer
from millrace_contracts import ModelPromoted
from millrace_shared.registry.client import RegistryClient
from millrace_shared.registry.models import ModelDetail, VersionDetail
from pydantic_core import to_jsonable_python
from rich.markup import escape
from rich.table import Table

from ..console import out, print_json
from ..describe import metrics_text, reasons_text
from ..endpoints import resolve
from ..errors import CliError
from ..rest import on_registry
from . import Json, ModelName

app = typer.Typer(
    help="Models in the registry: list, show, promote, roll back.", no_args_is_help=True
)


class Alias(StrEnum):
    production = "production"
    staging = "staging"


Reason = Annotated[str, typer.Option("--reason", "-r", help="Why, for the audit trail.")]
Actor = Annotated[
    str | None,
    typer.Option(
        help="Who, for the audit trail; only as a check: the registry records your token's "
        "actor and refuses a different name."
    ),
]


@app.command("list")
def list_models(as_json: Json = False) -> None:
    """Every model with its production and latest version."""
    models = on_registry(resolve(), lambda registry: registry.models())
    if as_json:
        print_json(to_jsonable_python(models))
        return
    if not models:
        out.print("no models registered yet")
        return
    table = Table("model", "production", "latest")
    for m in models:
        production = m.production_version
        table.add_row(m.name, f"v{production}" if production else "-", f"v{m.latest_version}")
    out.print(table)


def versions_table(detail: ModelDetail) -> Table:
    aliases = ", ".join(f"{a}=v{v}" for a, v in detail.aliases.items()) or "none"
    table = Table(
        "version",
        "registered",
        "dataset version",
        "decision",
        "metrics",
        "aliases",
        title=f"{escape(detail.name)} (aliases: {aliases})",
        title_justify="left",
    )
    for v in detail.versions:
        style = "green" if v.policy_decision == "promoted" else "yellow"
        table.add_row(
            f"v{v.version}",
            v.registered_at.isoformat()[:19],
            v.dataset_version[:12],
            f"[{style}]{v.policy_decision}[/] {escape(', '.join(v.reason_codes))}",
            metrics_text(v.metrics),
            ", ".join(v.aliases) or "-",
        )
    return table


def version_table(record: VersionDetail) -> Table:
    info, lineage, decision = record.info, record.lineage, record.decision
    table = Table(
        show_header=False,
        box=None,
        title=f"{escape(info.model_name)} v{info.version}",
        title_justify="left",
    )
    table.add_row("aliases", ", ".join(record.aliases) or "-")
    table.add_row("registered", to_jsonable_python(record.registered_at))
    table.add_row("task", info.task)
    table.add_row("estimator", escape(f"{lineage.estimator} {lineage.params}"))
    table.add_row("dataset", escape(f"{info.dataset}@{info.dataset_version[:12]}"))
    table.add_row("metrics", metrics_text(info.metrics.values))
    table.add_row("holdout", escape(info.metrics.holdout_id))
    verdict = "promoted" if decision.promote else "rejected"
    table.add_row("decision", escape(f"{verdict}: {reasons_text(decision.reasons)}"))
    table.add_row("artifact", escape(f"{info.artifact.uri} (sha256 {info.artifact.sha256[:12]}…)"))
    table.add_row("model card", escape(info.model_card.uri))
    table.add_row("signature", escape(", ".join(f"{f.name}:{f.dtype}" for f in info.signature)))
    table.add_row("run", escape(f"{lineage.run_id} (trigger {lineage.trigger})"))
    return table


@app.command()
def show(
    name: ModelName,
    version: Annotated[int | None, typer.Option(help="One version in detail.")] = None,
    as_json: Json = False,
) -> None:
    """A model's versions, decisions and aliases; with --version, one version in detail
    (metrics, lineage, decision, artifact, signature)."""
    found = on_registry(
        resolve(),
        lambda registry: (
            registry.model(name) if version is None else registry.version(name, version)
        ),
    )
    if found is None:
        raise CliError(
            f"the registry has no model {name!r}{'' if version is None else f' v{version}'}"
        )
    if as_json:
        print_json(to_jsonable_python(found))
    else:
        out.print(versions_table(found) if isinstance(found, ModelDetail) else version_table(found))


def _announce(promoted: ModelPromoted, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(to_jsonable_python(promoted))
        return
    model, previous = promoted.model, promoted.previous_version
    was = f" (was v{previous})" if previous else ""
    out.print(
        f"[green]{verb}[/] {escape(model.model_name)} v{model.version} to "
        f"{escape(promoted.alias)}{was}"
    )


def _write(ask: Callable[[RegistryClient], Awaitable[ModelPromoted]]) -> ModelPromoted:
    endpoints = resolve()
    return on_registry(endpoints, ask, token=endpoints.settings.registry_bearer(endpoints.home))


@app.command()
def promote(
    name: ModelName,
    version: Annotated[int, typer.Argument(metavar="VERSION", help="Version to promote.", min=1)],
    reason: Reason,
    alias: Annotated[Alias, typer.Option(help="Alias to move.")] = Alias.production,
    actor: Actor = None,
    as_json: Json = False,
) -> None:
    """Point production (or --alias staging) at VERSION; deployment follows the event.

    Needs your registry token: MILLRACE_REGISTRY_TOKEN, else the one `millrace up` made.
    """
    promoted = _write(
        lambda registry: registry.promote(
            name, version, reason=reason, actor=actor, alias=alias.value
        )
    )
    _announce(promoted, "promoted", as_json)


@app.command()
def rollback(
    name: ModelName,
    reason: Reason,
    to: Annotated[
        int | None,
        typer.Option(
            "--to", min=1, help="Version to go back to; default: the previous production one."
        ),
    ] = None,
    actor: Actor = None,
    as_json: Json = False,
) -> None:
    """Put the previous production version (or --to N) back in production.

    Needs your registry token: MILLRACE_REGISTRY_TOKEN, else the one `millrace up` made.
    """
    promoted = _write(
        lambda registry: registry.rollback(name, reason=reason, to_version=to, actor=actor)
    )
    _announce(promoted, "rolled back", as_json)
