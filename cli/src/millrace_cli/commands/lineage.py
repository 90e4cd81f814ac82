"""``lineage``: how one prediction came to be, from the services' REST APIs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from millrace_shared.lineage import (
    DatasetLink,
    LineageSources,
    LinkName,
    ModelVersionLink,
    PredictionLineage,
    PredictionLink,
    PromotionLink,
    TraceLink,
    TrainingRunLink,
    Unresolved,
    resolve_lineage,
)
from rich.markup import escape
from rich.tree import Tree

from ..console import err, out, print_json
from ..endpoints import Endpoints, resolve
from ..errors import ExitCode
from . import Json

LABELS = {
    "prediction": "prediction",
    "model_version": "model version",
    "training_run": "training run",
    "dataset": "dataset version",
    "promotion": "promotion",
    "trace": "trace",
}


def lineage(
    prediction_id: Annotated[
        str, typer.Argument(metavar="PREDICTION_ID", help="The id a prediction answered with.")
    ],
    as_json: Json = False,
) -> None:
    """The chain behind one prediction: inputs, output, time, replica → model version →
    training run (spec, parameters, AutoML trials, code version, holdout) → dataset version
    (sha256, source, who submitted it, validation report) → promotion (who, why, when) →
    trace.

    Predictions are archived by monitoring within seconds of being served and kept for
    MILLRACE_MONITORING_ARCHIVE_RETENTION_DAYS. Exits 1 naming the first link that could
    not be resolved, 5 if its service did not answer (--json still prints what was).
    """
    found = asyncio.run(resolve_lineage(prediction_id, lineage_sources(resolve())))
    if as_json:
        print_json(found.model_dump(mode="json"))
    else:
        out.print(render(found))
    if found.unresolved:
        first = found.unresolved[0]
        err.print(
            f"[red]error:[/] lineage incomplete: the {LABELS[first.link]} could not be "
            f"resolved: {escape(first.reason)}",
            soft_wrap=True,
        )
        code = ExitCode.UNREACHABLE if first.unreachable else ExitCode.FAILURE
        raise typer.Exit(int(code))


def lineage_sources(endpoints: Endpoints) -> LineageSources:
    return LineageSources(
        monitoring_url=endpoints.url("monitoring"),
        registry_url=endpoints.url("registry"),
        training_url=endpoints.url("training"),
        ingestion_url=endpoints.url("ingestion"),
        zipkin_url=endpoints.zipkin_url,
    )


def _kv(values: dict[str, Any], limit: int = 8) -> str:
    items = list(values.items())
    shown = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in items[:limit])
    return shown + (f", … (+{len(items) - limit})" if len(items) > limit else "")


def _missing(tree: Tree, gap: Unresolved) -> None:
    tree.add(f"[red]✗ {LABELS[gap.link]}:[/] {escape(gap.reason)}")


def _prediction(root: Tree, p: PredictionLink) -> None:
    node = root.add(
        f"[bold]prediction[/] → [green]{escape(json.dumps(p.output))}[/]  served "
        f"{p.timestamp.isoformat()} by replica {escape(p.replica_id)} with "
        f"{escape(p.model_name)} v{p.model_version}"
    )
    node.add(f"inputs: {escape(_kv(p.features))}")
    node.add(f"logged in event {p.event_id}" + (f", trace {p.trace_id}" if p.trace_id else ""))


def _model_version(root: Tree, v: ModelVersionLink) -> None:
    node = root.add(
        f"[bold]model version[/] {escape(v.model_name)} v{v.version}  registered "
        f"{v.registered_at.isoformat()}, {v.decision}; aliases now: "
        f"{', '.join(v.aliases) or 'none'}"
    )
    node.add(f"metrics on holdout {escape(v.holdout_id)}: {escape(_kv(v.metrics))}")
    node.add(f"artifact {escape(v.artifact.uri)} (sha256 {v.artifact.sha256})")


def _training_run(root: Tree, r: TrainingRunLink) -> None:
    node = root.add(
        f"[bold]training run[/] {escape(r.run_id)}  trigger {escape(r.trigger)}, "
        f"{escape(r.estimator)}, {r.training_seconds:.1f}s, at {r.trained_at.isoformat()}"
    )
    node.add(f"parameters: {escape(_kv(r.params))}")
    if r.training_spec is not None:
        node.add(f"spec: {escape(_kv(r.training_spec, limit=12))}")
    if r.automl is not None:
        trials = node.add(
            f"AutoML: {r.automl.get('tried')} of {r.automl.get('planned')} trials"
            + (f", stopped by {r.automl['stopped_by']}" if r.automl.get("stopped_by") else "")
        )
        for trial in r.leaderboard[:5]:
            trials.add(escape(_kv(trial, limit=4)))
    if r.holdout is not None:
        node.add(f"holdout: {escape(_kv(r.holdout))}")
    code = r.code_version or {}
    node.add(
        "code: "
        + (
            f"{code.get('package')} {code.get('version')}"
            + (f" @ {code['git']}" if code.get("git") else "")
            if code
            else "not recorded (trained before code versions were kept)"
        )
    )


def _dataset(root: Tree, d: DatasetLink) -> None:
    node = root.add(
        f"[bold]dataset version[/] {escape(d.dataset)} sha256 {d.version}  {d.rows} rows, "
        f"created {d.created_at.isoformat()}"
    )
    node.add(f"source: {escape(d.source_uri)}")
    node.add(f"submitted by: {escape(d.submitted_by or 'not said')}")
    report = d.validation
    if report is None:
        node.add("validation report: not recorded (a version from before reports)")
    else:
        columns = report.get("columns") or []
        node.add(
            f"validation: passed against spec v{report.get('spec_version')} "
            f"({report.get('spec_source')}), {len(columns)} columns, "
            f"{report.get('rows_read')} rows read"
        )


def _promotion(root: Tree, pr: PromotionLink) -> None:
    moved = f"v{pr.from_version} → v{pr.version}" if pr.from_version else f"v{pr.version}"
    node = root.add(
        f"[bold]promotion[/] {escape(pr.alias)} {moved} by [bold]{escape(pr.actor)}[/] "
        f"({escape(pr.kind)}) at {pr.at.isoformat()}"
    )
    for reason in pr.reasons:
        node.add(f"{escape(reason.code)}: {escape(reason.message)}")


def _trace(root: Tree, t: TraceLink) -> None:
    root.add(
        f"[bold]trace[/] {escape(t.url or t.trace_ids[0])}  (flow {t.correlation_id}; "
        f"`millrace trace {t.correlation_id}`)"
    )


@dataclass(frozen=True)
class _Link:
    name: LinkName
    """The field of PredictionLineage, and the gap's ``link`` when it is missing."""
    add: Callable[[Tree, Any], None]
    needed: bool = False
    """Whether the links after it are shown only when it was found (they hang on it)."""


_LINKS: tuple[_Link, ...] = (
    _Link("prediction", _prediction, needed=True),
    _Link("model_version", _model_version, needed=True),
    _Link("training_run", _training_run),
    _Link("dataset", _dataset),
    _Link("promotion", _promotion),
    _Link("trace", _trace),
)
"""The chain, in order: what each link shows, or why it is missing."""


def render(found: PredictionLineage) -> Tree:
    gaps = {g.link: g for g in found.unresolved}
    root = Tree(f"[bold]lineage of prediction {escape(found.prediction_id)}[/]")
    for link in _LINKS:
        value = getattr(found, link.name)
        if value is not None:
            link.add(root, value)
            continue
        _missing(root, gaps[link.name])
        if link.needed:
            break
    return root
