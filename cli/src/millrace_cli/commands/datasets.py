"""``datasets``: declare a dataset (its contract and policies), list and show them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from millrace_contracts import DatasetDeclaration, DatasetDeclared, first_of_flow
from rich.markup import escape
from rich.table import Table

from .. import kafka
from ..console import err, out, print_json
from ..endpoints import Endpoints, resolve
from ..errors import CliError, ExitCode
from ..inputs import load_declaration
from ..rest import ServiceClient
from . import Json

app = typer.Typer(
    help="Declare datasets (schema, quality rules, training, promotion) and inspect them.",
    no_args_is_help=True,
)


def wait_for_declaration(
    endpoints: Endpoints, dataset: str, event_id: str, within: float
) -> dict[str, Any]:
    """Until ingestion's GET /datasets/NAME shows this declaration's event id."""
    deadline = time.monotonic() + within
    with ServiceClient(endpoints, "ingestion", timeout=5.0) as ingestion:
        while True:
            view = ingestion.get_or_none(f"/datasets/{dataset}")
            if view is not None and str(view.get("event_id")) == event_id:
                return dict(view)
            if time.monotonic() >= deadline:
                raise CliError(
                    f"ingestion has not taken in the declaration of {dataset!r} after "
                    f"{within:.0f}s (is it consuming? see its log)",
                    ExitCode.TIMEOUT,
                )
            time.sleep(0.2)


async def publish_declaration(
    endpoints: Endpoints, declaration: DatasetDeclaration
) -> DatasetDeclared:
    event = DatasetDeclared(**first_of_flow(producer="cli"), declaration=declaration)
    async with kafka.event_sink(endpoints) as sink:
        await sink.publish(event)
    return event


@app.command()
def declare(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A DatasetDeclaration as YAML or JSON.",
            exists=True,
            dir_okay=False,
        ),
    ],
    wait: Annotated[
        bool,
        typer.Option(help="Wait until ingestion has taken the declaration in."),
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 60.0,
) -> None:
    """Publish a dataset declaration (DatasetDeclared) and wait until ingestion applies it.

    The file holds `dataset` and optionally `spec` (columns, target, min_rows), `training`
    (task, target, estimator or automl), `promotion` and `monitoring`. Files published to
    the dataset afterwards are checked against it.
    """
    declaration = load_declaration(file)
    endpoints = resolve(principal="data-teams")
    event = asyncio.run(publish_declaration(endpoints, declaration))
    err.print(
        f"published the declaration of [bold]{escape(declaration.dataset)}[/] (event {event.event_id})"
    )
    if not wait:
        return
    try:
        with err.status("waiting for ingestion to apply it..."):
            view = wait_for_declaration(
                endpoints, declaration.dataset, str(event.event_id), timeout
            )
    except CliError as error:
        raise CliError(
            f"{error.message}\n(the declaration is published: ingestion applies it once it runs)",
            error.code,
        ) from error
    err.print(
        f"[green]declared[/] {escape(declaration.dataset)}: declaration version "
        f"{view.get('declaration_version')}"
    )


@app.command("list")
def list_datasets(
    as_json: Json = False,
) -> None:
    """Every dataset ingestion knows, with its declaration and version count."""
    endpoints = resolve(principal="data-teams")
    rows = []
    with ServiceClient(endpoints, "ingestion") as ingestion:
        for name in ingestion.get("/datasets"):
            view = ingestion.get_or_none(f"/datasets/{name}") or {}
            versions = ingestion.get_or_none(f"/datasets/{name}/versions") or []
            rows.append(
                {
                    "dataset": name,
                    "declaration_version": view.get("declaration_version"),
                    "spec_source": view.get("spec_source"),
                    "declared_at": view.get("declared_at"),
                    "versions": len(versions),
                    "latest_version": versions[-1]["version"] if versions else None,
                }
            )
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no datasets yet: `millrace datasets declare FILE` declares one")
        return
    table = Table("dataset", "declaration", "spec from", "versions", "latest version")
    for r in rows:
        table.add_row(
            r["dataset"],
            f"v{r['declaration_version']}" if r["declaration_version"] else "-",
            str(r["spec_source"] or "-"),
            str(r["versions"]),
            (r["latest_version"] or "-")[:12],
        )
    out.print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Dataset name.")],
    as_json: Json = False,
) -> None:
    """A dataset's declaration in force, its contract and its versions."""
    endpoints = resolve(principal="data-teams")
    with ServiceClient(endpoints, "ingestion") as ingestion:
        view = ingestion.get_or_none(f"/datasets/{name}")
        if view is None:
            raise CliError(f"unknown dataset {name!r} (`millrace datasets list`)")
        versions = ingestion.get_or_none(f"/datasets/{name}/versions") or []
    if as_json:
        print_json({"dataset": view, "versions": versions})
        return
    out.print(render_dataset(view, versions))


def render_dataset(view: dict[str, Any], versions: list[dict[str, Any]]) -> Table:
    declaration = view.get("declaration") or {}
    training = declaration.get("training") or {}
    estimator = (training.get("estimator") or {}).get("name") or (
        "automl" if training.get("automl") else None
    )
    promotion = declaration.get("promotion") or {}
    summary = Table(
        show_header=False,
        box=None,
        title=f"dataset {escape(view['dataset'])}",
        title_justify="left",
    )
    summary.add_row(
        "declaration", f"v{view.get('declaration_version')} at {view.get('declared_at')}"
    )
    summary.add_row("contract", f"{view.get('spec_source') or 'none yet'}")
    if training:
        summary.add_row(
            "training",
            f"{training.get('task')} of {training.get('target')!s} with {estimator}",
        )
    else:
        summary.add_row("training", "none declared")
    if promotion:
        floor = promotion.get("floor")
        summary.add_row(
            "promotion",
            f"{promotion.get('primary_metric')}"
            + (f" >= {floor}" if floor is not None else "")
            + f", improvement >= {promotion.get('min_improvement', 0)}",
        )
    spec = view.get("spec") or {}
    columns = ", ".join(
        f"{c['name']}:{c['dtype']}{'?' if c.get('nullable') else ''}"
        for c in spec.get("columns", [])
    )
    if columns:
        summary.add_row("columns", escape(columns))
    summary.add_row("versions", str(len(versions)))
    for v in versions[-10:]:
        summary.add_row(
            "",
            f"{v['version'][:12]}  {v['rows']} rows  {v['created_at']}  {escape(v['source_uri'])}",
        )
    return summary
