"""Kafka handlers: decode, call the core (off the event loop), publish what it returns."""

from __future__ import annotations

import asyncio
import logging

from millrace_contracts import DataArrived, DatasetDeclared, DatasetRejected, DatasetValidated
from millrace_shared.memory import release_memory
from millrace_shared.service import ServiceRuntime
from millrace_shared.telemetry import Attr

from .core.declarations import DeclarationStore
from .core.pipeline import Ingestion

logger = logging.getLogger("millrace.ingestion")


def register(runtime: ServiceRuntime, ingestion: Ingestion, declarations: DeclarationStore) -> None:
    broker = runtime.broker
    tracer = runtime.tracer
    runtime.declare_publishes(DatasetValidated, DatasetRejected)

    @broker.subscriber(
        DatasetDeclared.topic(), group_id=runtime.group_id, auto_offset_reset="earliest"
    )
    async def on_dataset_declared(event: DatasetDeclared) -> None:
        attributes = {Attr.DATASET: event.declaration.dataset, Attr.EVENT_ID: str(event.event_id)}
        with tracer.start_as_current_span("declare", attributes=attributes):
            record = await asyncio.to_thread(declarations.record, event)
        logger.info(
            "declaration of %s is version %d (contract: %s)",
            record.dataset,
            record.version,
            record.spec_source or "to be inferred",
        )

    @broker.subscriber(
        DataArrived.topic(),
        group_id=runtime.group_id,
        auto_offset_reset="earliest",
        # An arrival waiting on its object (S3 answering 5xx for it) holds back its own
        # partition only: the other consumers' arrivals are validated meanwhile.
        max_workers=runtime.settings.kafka_partition_workers,
    )
    async def on_data_arrived(event: DataArrived) -> None:
        try:
            outcome = await asyncio.to_thread(ingestion.ingest, event)
        finally:
            # The arrival's frames are garbage now: give their pages back, or the service
            # stays at its peak RSS (hundreds of MB after a large file) until the next one.
            await asyncio.to_thread(release_memory)
        await runtime.sink.publish(outcome)
