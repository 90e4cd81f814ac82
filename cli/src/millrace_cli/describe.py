"""One line per event, in words: what ``publish --wait``, ``events tail`` and the demo print."""

from __future__ import annotations

from collections.abc import Mapping

from millrace_contracts import (
    DataArrived,
    DatasetDeclared,
    DatasetRejected,
    DatasetValidated,
    DeploymentFailed,
    DriftDetected,
    Event,
    LabelsObserved,
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelTrained,
    PerformanceDegraded,
    PredictionsLogged,
    Reason,
    TrainingRequested,
)
from rich.markup import escape


def metrics_text(values: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.3f}" for k, v in values.items())


def reasons_text(reasons: list[Reason], *, codes: bool = True) -> str:
    return "; ".join(f"{r.code}: {r.message}" if codes else r.message for r in reasons)


def describe(event: Event) -> str:
    """Rich markup; every value from the event is escaped."""
    e = escape
    if isinstance(event, DataArrived):
        return f"[blue]arrived[/] {e(event.dataset)} {e(event.uri)}"
    if isinstance(event, DatasetDeclared):
        d = event.declaration
        training = "training declared" if d.training else "no training"
        return f"[blue]declared[/] {e(d.dataset)} ({training})"
    if isinstance(event, DatasetValidated):
        fresh = "new version" if event.new_version else "same content as an existing version"
        return (
            f"[green]validated[/] {e(event.dataset)}: {event.rows} rows, "
            f"version {event.dataset_version[:12]} ({fresh})"
        )
    if isinstance(event, DatasetRejected):
        lines = "".join(f"\n      - {e(r.code)}: {e(r.message)}" for r in event.reasons)
        return f"[red]rejected[/] {e(event.dataset)} ({len(event.reasons)} reason(s)):{lines}"
    if isinstance(event, TrainingRequested):
        return f"[blue]training requested[/] {e(event.dataset)} ({event.trigger})"
    if isinstance(event, ModelTrained):
        return (
            f"[cyan]trained[/] {e(event.model_name)} {e(event.estimator)} in "
            f"{event.training_seconds:.1f}s: {e(metrics_text(event.metrics.values))}"
        )
    if isinstance(event, ModelPromoted):
        m = event.model
        was = f", was v{event.previous_version}" if event.previous_version else ""
        why = f": {e(reasons_text(event.reasons, codes=False))}" if event.reasons else ""
        return (
            f"[bold green]promoted[/] {e(m.model_name)} v{m.version} to {e(event.alias)} "
            f"({event.kind}{was}){why}"
        )
    if isinstance(event, ModelRejected):
        return (
            f"[yellow]not promoted[/] {e(event.model_name)} v{event.version}: "
            f"{e(reasons_text(event.reasons))}"
        )
    if isinstance(event, ModelDeployed):
        return (
            f"[bold green]deployed[/] {e(event.model_name)} v{event.version} on "
            f"{e(event.replica_id)} ({e(event.endpoint)}, loaded in {event.load_seconds:.2f}s)"
        )
    if isinstance(event, DeploymentFailed):
        serving = f"; still serving v{event.serving_version}" if event.serving_version else ""
        return (
            f"[red]deployment failed[/] {e(event.model_name)} v{event.version} on "
            f"{e(event.replica_id)}: {e(event.reason.code)}: {e(event.reason.message)}{serving}"
        )
    if isinstance(event, PredictionsLogged):
        return (
            f"[blue]predictions logged[/] {e(event.model_name)} v{event.model_version}: "
            f"{len(event.predictions)} from {e(event.replica_id)}"
        )
    if isinstance(event, LabelsObserved):
        return f"[blue]labels observed[/] {e(event.model_name)}: {len(event.labels)}"
    if isinstance(event, DriftDetected):
        return (
            f"[yellow]drift detected[/] {e(event.model_name)} v{event.model_version} on "
            f"{e(', '.join(event.drifted_features))} (window of {event.window.size})"
        )
    if isinstance(event, PerformanceDegraded):
        return (
            f"[yellow]performance degraded[/] {e(event.model_name)} v{event.model_version}: "
            f"{e(event.metric)}={event.value:.3f} below {event.floor:.3f} "
            f"({event.labelled} labels)"
        )
    return e(type(event).__name__)
