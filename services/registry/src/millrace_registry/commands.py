"""The registry's write side as both transports use it: Kafka handlers and the REST API.

One model at a time within a process (an asyncio.Lock per name: the consumer and the API both
write), blocking object-store work off the event loop. Other replicas may write the same model
meanwhile: the store's create-only claims settle who got which number (ADR 0007), and the
promotion's sequence, not the topic's order, tells deployment which move is the latest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager

from millrace_contracts import ModelPromoted, ModelRejected, ModelTrained
from millrace_shared.messaging import EventSink
from millrace_shared.telemetry import Attr
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from .core.records import PRODUCTION
from .core.service import AliasChange, Registry
from .core.store import MAX_ATTEMPTS, Contended, SequenceTaken


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
        self,
        model: str,
        version: int,
        *,
        reason: str,
        actor: str,
        alias: str = PRODUCTION,
        idempotency_key: str | None = None,
    ) -> ModelPromoted:
        async with self._lock(model):
            with self._span(model, version, "manual"):

                def plan() -> AliasChange:
                    return self._registry.plan_promotion(
                        model,
                        version,
                        reason=reason,
                        actor=actor,
                        alias=alias,
                        idempotency_key=idempotency_key,
                    )

                return await self._record_then_announce(model, plan)

    async def rollback(
        self,
        model: str,
        *,
        reason: str,
        actor: str,
        to_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> ModelPromoted:
        async with self._lock(model):
            with self._span(model, to_version, "rollback") as span:

                def plan() -> AliasChange:
                    return self._registry.plan_rollback(
                        model,
                        reason=reason,
                        actor=actor,
                        to_version=to_version,
                        idempotency_key=idempotency_key,
                    )

                event = await self._record_then_announce(model, plan)
                span.set_attribute(Attr.MODEL_VERSION, event.model.version)
                return event

    async def _record_then_announce(
        self, model: str, plan: Callable[[], AliasChange]
    ) -> ModelPromoted:
        """Plan on the trail as read, claim the planned sequence, then publish.

        Recorded first, so no two moves can ever be announced with one sequence (another
        replica's move taking it makes this one plan again, from the new state). If the
        publish fails the move stands unannounced and the caller gets the error: sending the
        request again with the same Idempotency-Key announces the recorded move, and does not
        move the alias twice. (Without a key, a retried rollback would roll once more.)
        """
        for _ in range(MAX_ATTEMPTS):
            change = await asyncio.to_thread(plan)
            try:
                await asyncio.to_thread(self._registry.record, change)
            except SequenceTaken:
                continue
            await self._sink.publish(change.event)
            return change.event
        raise Contended(f"could not record a move of {model!r}")

    def _span(
        self, model: str, version: int | None, kind: str
    ) -> AbstractContextManager[trace.Span]:
        attrs: dict[str, AttributeValue] = {Attr.MODEL: model, Attr.DECISION: kind}
        if version is not None:
            attrs[Attr.MODEL_VERSION] = version
        return self._tracer.start_as_current_span("promote", attributes=attrs)
