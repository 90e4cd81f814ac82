"""Composition root: the one place where ingestion's parts are built and wired together."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from millrace_shared.objectstore import ObjectStore
from millrace_shared.service import ServiceRuntime, build_runtime, service_app
from opentelemetry.sdk.trace import TracerProvider

from .api import datasets_router
from .core.declarations import DeclarationStore
from .core.limits import InputLimits
from .core.pipeline import Ingestion, IngestionConfig
from .core.profiling import ProfileOptions
from .core.rejections import RejectionStore
from .core.versions import VersionStore
from .handlers import register
from .settings import IngestionSettings

DESCRIPTION = (
    "Validates arrived CSV/Parquet files against their dataset's contract, stores accepted ones "
    "as content-addressed Parquet versions with a reference profile, and reports every problem "
    "of rejected ones."
)


def config_from(settings: IngestionSettings) -> IngestionConfig:
    return IngestionConfig(
        producer=settings.service_name,
        max_bytes=settings.max_bytes,
        landing_bucket=settings.bucket_landing,
        limits=InputLimits(
            max_decoded_bytes=settings.max_decoded_bytes,
            max_rows=settings.max_rows,
            max_columns=settings.max_columns,
            max_column_name_length=settings.max_column_name_length,
            max_cell_length=settings.max_cell_length,
        ),
        max_event_bytes=settings.kafka_max_event_bytes,
        work_dir=settings.work_dir,
        profile=ProfileOptions(
            bins=settings.profile_bins,
            sample_size=settings.profile_sample_size,
            seed=settings.profile_seed,
        ),
        max_signature_categories=settings.max_signature_categories,
    )


def wire(runtime: ServiceRuntime, settings: IngestionSettings) -> list[APIRouter]:
    """Register the handlers on ``runtime`` and return the REST routers (tests use this too)."""
    declarations = DeclarationStore(runtime.store, settings.state_bucket("ingestion"))
    versions = VersionStore(
        runtime.store,
        bucket_state=settings.state_bucket("ingestion"),
        bucket_datasets=settings.bucket_datasets,
    )
    rejections = RejectionStore(
        runtime.store, settings.state_bucket("ingestion"), keep=settings.rejections_kept
    )
    ingestion = Ingestion(
        store=runtime.store,
        declarations=declarations,
        versions=versions,
        config=config_from(settings),
        tracer=runtime.tracer,
        rejections=rejections,
    )
    register(runtime, ingestion, declarations)
    return [datasets_router(declarations, versions, rejections)]


def build_app(
    settings: IngestionSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    store: ObjectStore | None = None,
) -> FastAPI:
    runtime = build_runtime(settings, store=store, tracer_provider=tracer_provider)
    return service_app(
        runtime,
        description=DESCRIPTION,
        routers=wire(runtime, settings),
    )
