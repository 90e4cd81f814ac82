"""Composition root: the one place the training service is assembled."""

from __future__ import annotations

from fastapi import FastAPI
from millrace_shared.objectstore import ObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime, service_app
from opentelemetry.sdk.trace import TracerProvider

from .api import training_router
from .core.compute import compute_for
from .core.fit import Trainer, TrainerConfig
from .core.runner import TrainingRunner
from .core.runs import RunStore
from .core.state import TrainingState
from .handlers import register
from .settings import TrainingSettings

DESCRIPTION = (
    "Fits scikit-learn pipelines from declared training specs (or an AutoML search), "
    "evaluates them on a deterministic holdout against the production model, stores the "
    "artifact and model card, and emits model.trained; retrains on request, drift or "
    "degradation under the dataset's retraining policy."
)


def assemble(
    runtime: ServiceRuntime, settings: TrainingSettings
) -> tuple[TrainingRunner, RunStore]:
    """Wire the runner onto ``runtime``'s store, sink and broker (tests call this directly)."""
    runs = RunStore(runtime.store, settings.bucket_models)
    trainer = Trainer(
        runtime.store,
        runs,
        runtime.tracer,
        TrainerConfig(
            producer=settings.service_name,
            max_training_rows=settings.max_training_rows,
            model_cache_max_bytes=settings.model_cache_max_bytes,
            limits=settings.limits(),
            compute=compute_for(settings.training_cluster),
        ),
    )
    state = TrainingState(runtime.store, settings.state_bucket("training"))
    runner = TrainingRunner(trainer, state, runs, runtime.sink)
    register(runtime, runner, settings)
    return runner, runs


def build_app(
    settings: TrainingSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    store: ObjectStore | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, store=store, tracer_provider=tracer_provider)
    runner, runs = assemble(runtime, settings)
    return service_app(
        runtime,
        description=DESCRIPTION,
        routers=[training_router(runner, runs)],
    )
