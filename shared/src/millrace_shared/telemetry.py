"""Tracing set-up and the span attribute names, declared once."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from .settings import MillraceSettings


class Attr:
    """``millrace.*`` span attribute names."""

    DATASET = "millrace.dataset"
    DATASET_VERSION = "millrace.dataset.version"
    ROWS = "millrace.rows"
    MODEL = "millrace.model"
    MODEL_VERSION = "millrace.model.version"
    RUN_ID = "millrace.run_id"
    ESTIMATOR = "millrace.estimator"
    METRIC = "millrace.metric"
    DECISION = "millrace.decision"
    REASON_CODES = "millrace.reason_codes"
    CORRELATION_ID = "millrace.correlation_id"
    EVENT_ID = "millrace.event_id"
    EVENT_TYPE = "millrace.event_type"
    ARTIFACT_URI = "millrace.artifact.uri"
    BYTES = "millrace.bytes"
    DRIFTED_FEATURES = "millrace.drift.features"
    WINDOW_SIZE = "millrace.window.size"
    BATCH_SIZE = "millrace.batch.size"
    COMPILED = "millrace.serving.compiled"
    RUNTIME = "millrace.serving.runtime"
    """What answers single rows: onnxruntime, compiled or sklearn (ADR 0009)."""
    FALLBACK = "millrace.serving.fallback"
    """Why a model is served by a slower path than its preferred one (that one disagreed)."""
    REPLICA = "millrace.replica"
    DLQ_REASON = "millrace.dlq.reason"


def setup_tracing(settings: MillraceSettings) -> TracerProvider:
    """A tracer provider for this service; it exports only to the endpoints set: OTLP/HTTP
    (``otlp_endpoint``: production backends) and/or Zipkin (``zipkin_endpoint``: the local
    stack's, whose UI shows a flow's spans).

    Returned rather than only installed globally so tests can build several in one process.
    """
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.service_name, "service.namespace": "millrace"}
        ),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    if settings.otlp_endpoint:
        # Imported here: the exporter pulls in protobuf and requests, which a service that
        # exports nothing need not load.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.zipkin_endpoint:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        provider.add_span_processor(
            BatchSpanProcessor(ZipkinExporter(endpoint=settings.zipkin_endpoint))
        )
    return provider


def install_tracing(settings: MillraceSettings) -> TracerProvider:
    """``setup_tracing`` and make it the process-wide provider (a service's entry point)."""
    provider = setup_tracing(settings)
    trace.set_tracer_provider(provider)
    return provider


class _TraceContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else "-"
        return True


def configure_logging(settings: MillraceSettings) -> None:
    """One log line format for every service, with the trace id to jump to the trace UI."""
    handler = logging.StreamHandler()
    handler.addFilter(_TraceContextFilter())
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)-5s {settings.service_name} [%(trace_id)s] %(name)s: %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "urllib3", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
