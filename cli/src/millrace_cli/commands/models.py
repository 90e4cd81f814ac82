"""``models``: the registry's view, and manual promotion and rollback."""

from __future__ import annotations

import getpass
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..console import out, print_json
from ..endpoints import Endpoints, resolve
from ..rest import ServiceClient

app = typer.Typer(
    help="Models in the registry: list, show, promote, roll back.", no_args_is_help=True
)


class Alias(StrEnum):
    production = "production"
    staging = "staging"


Json = Annotated[bool, typer.Option("--json", help="JSON output.")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why, for the audit trail.")]
Actor = Annotated[str | None, typer.Option(help="Who, for the audit trail; default: $USER.")]


def _metrics(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.3f}" for k, v in values.items())


@app.command("list")
def list_models(as_json: Json = False) -> None:
    """Every model with its production and latest version."""
    with ServiceClient(resolve(), "registry") as registry:
        models = registry.get("/models")
    if as_json:
        print_json(models)
        return
    if not models:
        out.print("no models registered yet")
        return
    table = Table("model", "production", "latest")
    for m in models:
        production = m.get("production_version")
        table.add_row(m["name"], f"v{production}" if production else "-", f"v{m['latest_version']}")
    out.print(table)


def versions_table(detail: dict[str, Any]) -> Table:
    aliases = ", ".join(f"{a}=v{v}" for a, v in detail.get("aliases", {}).items()) or "none"
    table = Table(
        "version",
        "registered",
        "dataset version",
        "decision",
        "metrics",
        "aliases",
        title=f"{escape(detail['name'])} (aliases: {aliases})",
        title_justify="left",
    )
    for v in detail.get("versions", []):
        decision = v["policy_decision"]
        style = "green" if decision == "promoted" else "yellow"
        codes = ", ".join(v.get("reason_codes", []))
        table.add_row(
            f"v{v['version']}",
            str(v["registered_at"])[:19],
            str(v["dataset_version"])[:12],
            f"[{style}]{decision}[/] {escape(codes)}",
            _metrics(v.get("metrics", {})),
            ", ".join(v.get("aliases", [])) or "-",
        )
    return table


def version_table(record: dict[str, Any]) -> Table:
    info = record["info"]
    lineage = record.get("lineage", {})
    decision = record.get("decision", {})
    table = Table(
        show_header=False,
        box=None,
        title=f"{escape(info['model_name'])} v{info['version']}",
        title_justify="left",
    )
    table.add_row("aliases", ", ".join(record.get("aliases", [])) or "-")
    table.add_row("registered", str(record.get("registered_at")))
    table.add_row("task", str(info.get("task")))
    table.add_row("estimator", escape(f"{lineage.get('estimator')} {lineage.get('params', {})}"))
    table.add_row("dataset", escape(f"{info['dataset']}@{str(info['dataset_version'])[:12]}"))
    table.add_row("metrics", _metrics(info.get("metrics", {}).get("values", {})))
    table.add_row("holdout", escape(str(info.get("metrics", {}).get("holdout_id"))))
    verdict = "promoted" if decision.get("promote") else "rejected"
    reasons = "; ".join(f"{r['code']}: {r['message']}" for r in decision.get("reasons", []))
    table.add_row("decision", escape(f"{verdict}: {reasons}"))
    table.add_row(
        "artifact", escape(f"{info['artifact']['uri']} (sha256 {info['artifact']['sha256'][:12]}…)")
    )
    table.add_row("model card", escape(info["model_card"]["uri"]))
    features = ", ".join(f"{f['name']}:{f['dtype']}" for f in info.get("signature", []))
    table.add_row("signature", escape(features))
    table.add_row("run", escape(f"{lineage.get('run_id')} (trigger {lineage.get('trigger')})"))
    return table


@app.command()
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    version: Annotated[int | None, typer.Option(help="One version in detail.")] = None,
    as_json: Json = False,
) -> None:
    """A model's versions, decisions and aliases; with --version, one version in detail
    (metrics, lineage, decision, artifact, signature)."""
    with ServiceClient(resolve(), "registry") as registry:
        path = f"/models/{name}" if version is None else f"/models/{name}/versions/{version}"
        data = registry.get(path)
    if as_json:
        print_json(data)
    elif version is None:
        out.print(versions_table(data))
    else:
        out.print(version_table(data))


def _actor(actor: str | None) -> str | None:
    try:
        return actor or getpass.getuser()
    except (KeyError, OSError):
        return None


def _announce(promoted: dict[str, Any], verb: str) -> None:
    model = promoted["model"]
    previous = promoted.get("previous_version")
    was = f" (was v{previous})" if previous else ""
    out.print(
        f"[green]{verb}[/] {escape(model['model_name'])} v{model['version']} to "
        f"{escape(promoted.get('alias', 'production'))}{was}"
    )


@app.command()
def promote(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    version: Annotated[int, typer.Argument(metavar="VERSION", help="Version to promote.", min=1)],
    reason: Reason,
    alias: Annotated[Alias, typer.Option(help="Alias to move.")] = Alias.production,
    actor: Actor = None,
    as_json: Json = False,
) -> None:
    """Point production (or --alias staging) at VERSION; deployment follows the event.

    Needs the registry's token: MILLRACE_REGISTRY_TOKEN (in dev the built-in one).
    """
    body = {"version": version, "reason": reason, "actor": _actor(actor), "alias": alias.value}
    promoted = _post(resolve(), f"/models/{name}/promote", body)
    if as_json:
        print_json(promoted)
    else:
        _announce(promoted, "promoted")


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
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

    Needs the registry's token: MILLRACE_REGISTRY_TOKEN (in dev the built-in one).
    """
    body = {"reason": reason, "to_version": to, "actor": _actor(actor)}
    promoted = _post(resolve(), f"/models/{name}/rollback", body)
    if as_json:
        print_json(promoted)
    else:
        _announce(promoted, "rolled back")


def _post(endpoints: Endpoints, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = endpoints.settings.registry_bearer()
    with ServiceClient(endpoints, "registry") as registry:
        result: dict[str, Any] = registry.post(path, body, token=token)
    return result
