"""Apply a production version: load, warm up, swap; from a promotion or the start-up snapshot.

Start-up race: a replica pins its consumer position *before* it asks the registry for the
current production versions, so a promotion is either in that snapshot or delivered as an
event afterwards (or both). A promotion event is the newer word: once one has arrived for a
model, the snapshot entry for that model is skipped, and a snapshot load already under way
finishes before the event is applied (one lock per model), so the event's version wins.

Trust (ADR 0007): a promotion, event or snapshot entry, is applied only if the registry's key
signed it, its artifact is in the models bucket and its sequence is newer than the served one's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from millrace_contracts import DeploymentFailed, ModelDeployed, ModelPromoted, ModelVersionInfo
from millrace_contracts.envelope import Envelope, caused_by, first_of_flow, utc_now
from millrace_shared.memory import settle_heap
from millrace_shared.objectstore import ObjectStore
from millrace_shared.registry.models import SignedPromotion
from millrace_shared.telemetry import Attr
from opentelemetry.trace import Span, Tracer
from opentelemetry.util.types import AttributeValue
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from .catalog import ModelCatalog
from .loading import LoadRefused, RefusalCode, check_size, fetch_model
from .served import ServedModel, serve, warm_up
from .trust import Promotion, PromotionTrust

logger = logging.getLogger("millrace.deployment.deployer")

PRODUCTION = "production"

Outcome = ModelDeployed | DeploymentFailed


@dataclass(frozen=True)
class DeployerConfig:
    producer: str
    replica_id: str
    endpoint_base: str
    """Base URL of this replica; ``model.deployed`` carries the model's predict URL under it."""
    work_dir: Path | None = None
    max_artifact_bytes: int | None = None
    """Larger artifacts are refused (``artifact_too_large``) before they are downloaded."""


class Deployer:
    def __init__(
        self,
        store: ObjectStore,
        catalog: ModelCatalog,
        tracer: Tracer,
        config: DeployerConfig,
        *,
        on_swap: Callable[[], None] = lambda: None,
        fetch: Callable[[ObjectStore, ModelVersionInfo, Path | None], Any] = fetch_model,
        timer: Callable[[], float] = time.perf_counter,
        now: Callable[[], datetime] = utc_now,
        trust: PromotionTrust | None = None,
    ) -> None:
        self._store, self._catalog, self._tracer, self._config = store, catalog, tracer, config
        self._on_swap, self._fetch, self._timer, self._now = on_swap, fetch, timer, now
        self._locks: dict[str, asyncio.Lock] = {}
        # Without one (tests of loading alone): nothing verified, artifacts from the default
        # models bucket only.
        self._trust = trust or PromotionTrust(key=None, models_bucket="millrace-models")
        self.fallbacks = 0
        """Models loaded since start whose preferred fast path disagreed with them (/stats)."""
        self._promoted: set[str] = set()
        """Models a promotion event arrived for since start: the snapshot no longer decides."""

    async def on_promoted(self, event: ModelPromoted) -> Outcome | None:
        """Apply a production promotion, whatever its version (a rollback is one too)."""
        if event.alias != PRODUCTION:
            logger.info(
                "ignoring %s alias %r -> v%d",
                event.model.model_name,
                event.alias,
                event.model.version,
            )
            return None
        info = event.model
        promotion = Promotion(info, event.sequence, event.signed_facts(), event.signature)
        if self._trust.authentic(promotion):
            # Before waiting: a snapshot load must not win. A forgery must not make the
            # snapshot yield, so only the registry's promotions count here.
            self._promoted.add(info.model_name)
        async with self._lock(info.model_name):
            return await self._apply(promotion, event)

    async def apply_snapshot(self, promotions: list[SignedPromotion]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for signed in promotions:
            info = signed.model
            promotion = Promotion(info, signed.sequence, signed.signed_facts(), signed.signature)
            async with self._lock(info.model_name):
                if info.model_name in self._promoted:
                    logger.info(
                        "snapshot of %s skipped: a promotion arrived first", info.model_name
                    )
                    continue
                try:
                    outcomes.append(await self._apply(promotion, None))
                except Exception:  # no retry here: the next promotion of it will load it
                    logger.exception(
                        "start-up load of %s v%d failed", info.model_name, info.version
                    )
        return outcomes

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def _apply(self, promotion: Promotion, cause: ModelPromoted | None) -> Outcome:
        info = promotion.info
        current = self._catalog.get(info.model_name)
        serving = None if current is None else (current.version, current.sha256)
        try:
            self._trust.check(promotion, serving)
        except LoadRefused as refused:
            logger.warning(
                "refused %s v%d (%s): %s", info.model_name, info.version, refused.code, refused
            )
            return self._failed(info, refused, current, cause)
        if current is not None and serving == (info.version, info.artifact.sha256):
            self._trust.served(promotion)
            return self._deployed(current, cause)  # a redelivery: already serving it
        try:
            served = await self._load(info)
        except LoadRefused as refused:
            logger.warning(
                "refused %s v%d (%s): %s", info.model_name, info.version, refused.code, refused
            )
            return self._failed(info, refused, current, cause)
        with self._span("swap", info):
            replaced = self._catalog.swap(served)
            self._trust.served(promotion)
        self._on_swap()
        # The replaced model is garbage now and the new one is long-lived: one full collection
        # here, and the collections under request load no longer walk either of them (a full
        # one over the loaded heap held the GIL for 150-470 ms on a 2-core machine).
        settle_heap()
        logger.info(
            "serving %s v%d (was %s) after %.2fs",
            info.model_name,
            info.version,
            f"v{replaced.version}" if replaced else "nothing",
            served.load_seconds,
        )
        return self._deployed(served, cause)

    async def _load(self, info: ModelVersionInfo) -> ServedModel:
        started = self._timer()
        with self._span("load", info) as span:
            span.set_attribute(Attr.ARTIFACT_URI, info.artifact.uri)
            span.set_attribute(Attr.BYTES, info.artifact.size_bytes)
            limit = self._config.max_artifact_bytes
            await asyncio.to_thread(check_size, self._store, info, limit)
            model = await asyncio.to_thread(self._fetch, self._store, info, self._config.work_dir)
        with self._span("warmup", info) as span:
            try:
                # Off the loop: compiling and checking the fast path predicts a few dozen rows.
                served = await asyncio.to_thread(_ready_to_serve, info, model, self._now())
            except Exception as error:  # whatever it is, this model cannot serve
                raise LoadRefused(RefusalCode.WARMUP_FAILED, f"warm-up failed: {error}") from error
            span.set_attribute(Attr.COMPILED, served.compiled is not None)
            span.set_attribute(Attr.RUNTIME, served.runtime)
            if served.fallback is not None:  # served, but slower than it should: say so
                self.fallbacks += 1
                span.set_attribute(Attr.FALLBACK, served.fallback)
        return replace(served, load_seconds=self._timer() - started)

    @contextmanager
    def _span(self, name: str, info: ModelVersionInfo) -> Iterator[Span]:
        attributes: dict[str, AttributeValue] = {
            Attr.MODEL: info.model_name,
            Attr.MODEL_VERSION: info.version,
            Attr.REPLICA: self._config.replica_id,
        }
        with self._tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span

    def _envelope(self, event: type[Outcome], cause: ModelPromoted | None) -> Envelope:
        if cause is None:  # from the start-up snapshot: a fact of its own
            return first_of_flow(producer=self._config.producer)
        # Every replica emits one per promotion: the salt keeps their ids apart, and a
        # redelivery to the same replica repeats its id.
        return caused_by(event, cause, producer=self._config.producer, salt=self._config.replica_id)

    def _deployed(self, served: ServedModel, cause: ModelPromoted | None) -> ModelDeployed:
        return ModelDeployed(
            **self._envelope(ModelDeployed, cause),
            model_name=served.name,
            version=served.version,
            replica_id=self._config.replica_id,
            endpoint=f"{self._config.endpoint_base}/models/{served.name}/predict",
            artifact_sha256=served.sha256,
            load_seconds=served.load_seconds,
        )

    def _failed(
        self,
        info: ModelVersionInfo,
        refused: LoadRefused,
        current: ServedModel | None,
        cause: ModelPromoted | None,
    ) -> DeploymentFailed:
        return DeploymentFailed(
            **self._envelope(DeploymentFailed, cause),
            model_name=info.model_name,
            version=info.version,
            replica_id=self._config.replica_id,
            reason=refused.reason(),
            serving_version=current.version if current is not None else None,
        )


def _ready_to_serve(info: ModelVersionInfo, model: Any, loaded_at: datetime) -> ServedModel:
    # One OpenMP thread for the model's own answers to the check rows (a few hundred): HGB's
    # parallel predict on so few rows is mostly thread start-up and barriers, and on a busy
    # machine its spinning threads wait for cores (0.06-0.8 s measured beside other work,
    # against 0.02-0.03 s on one thread). OpenMP's limit is the calling thread's own, so
    # requests served meanwhile on other threads keep theirs.
    with threadpool_limits(limits=1, user_api="openmp"):
        served = serve(info, model, loaded_at, 0.0)
        warm_up(served)
    return served
