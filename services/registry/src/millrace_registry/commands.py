"""The registry's write side as both transports use it: Kafka handlers and the REST API.

One model at a time (an asyncio.Lock per name: the consumer and the API both write), blocking
object-store work off the event loop, and the event published before the lock is released so
that the topic's order for a model is the order of the registry's decisions.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager

from millrace_contracts import ModelPromoted, ModelRejected, ModelTrained
from millrace_shared.messaging import EventSink
from millrace_shared.telemetry import Attr
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from .core.records import PRODUCTION
from .core.service import AliasChange, Registry


class RegistryCommands:
    def __init__(self, registry: Registry, sink: EventSink, tracer: trace.Tracer) -> None:
        self._registry = registry
        self._sink = sink
        self._tracer = tracer
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, model: str) -> asyncio.Lock:
        return self._locks.setdefault(model, asyncio.Lock())

    async def on_trained(self, trained: ModelTrained) -> ModelPromoted | ModelRejected | None:
        """Register and decide, then publish the decision (again, if this is a redelivery)."""
        async with self._lock(trained.model_name):
            decided = await asyncio.to_thread(self._registry.register_trained, trained)
            if decided is not None:
                await self._sink.publish(decided)
            return decided

    async def promote(
        self, model: str, version: int, *, reason: str, actor: str, alias: str = PRODUCTION
    ) -> ModelPromoted:
        async with self._lock(model):
            with self._span(model, version, "manual"):
                change = await asyncio.to_thread(
                    self._registry.plan_promotion,
                    model,
                    version,
                    reason=reason,
                    actor=actor,
                    alias=alias,
                )
                return await self._announce_then_record(change)

    async def rollback(
        self, model: str, *, reason: str, actor: str, to_version: int | None = None
    ) -> ModelPromoted:
        async with self._lock(model):
            with self._span(model, to_version, "rollback") as span:
                change = await asyncio.to_thread(
                    self._registry.plan_rollback,
                    model,
                    reason=reason,
                    actor=actor,
                    to_version=to_version,
                )
                span.set_attribute(Attr.MODEL_VERSION, change.event.model.version)
                return await self._announce_then_record(change)

    async def _announce_then_record(self, change: AliasChange) -> ModelPromoted:
        # Publish first: if it fails nothing has changed and the caller may simply retry (a
        # recorded-but-unannounced rollback, retried, would roll forward again). If recording
        # fails after the publish, the retry announces once more and then records.
        await self._sink.publish(change.event)
        await asyncio.to_thread(self._registry.record, change)
        return change.event

    def _span(
        self, model: str, version: int | None, kind: str
    ) -> AbstractContextManager[trace.Span]:
        attrs: dict[str, AttributeValue] = {Attr.MODEL: model, Attr.DECISION: kind}
        if version is not None:
            attrs[Attr.MODEL_VERSION] = version
        return self._tracer.start_as_current_span("promote", attributes=attrs)
