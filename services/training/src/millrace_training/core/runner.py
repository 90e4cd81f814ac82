"""The service layer: turns each consumed event into at most one training run.

One run at a time per process (an ``asyncio.Lock``): fits are CPU- and memory-bound, and it
makes the cooldown check-then-persist of retraining atomic within the process. The fit itself
runs in a worker thread so the consumer loop keeps heart-beating.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from millrace_contracts import (
    DatasetValidated,
    DriftDetected,
    ModelPromoted,
    ModelTrained,
    PerformanceDegraded,
    Reason,
    TrainingRequested,
)
from millrace_contracts.envelope import utc_now
from millrace_shared.memory import release_memory
from millrace_shared.messaging import EventSink
from pydantic import AwareDatetime, BaseModel

from .errors import CannotTrain
from .fit import Trainer
from .jobs import TrainingJob
from .retraining import (
    RetrainingRecord,
    RetrainingTrigger,
    decide_on_new_data,
    decide_retraining,
)
from .runs import FailedRun, RunStore
from .state import TrainingState

logger = logging.getLogger("millrace.training")


class FitStatus(BaseModel):
    """The run in progress in this process."""

    model: str
    run_id: str
    dataset: str
    dataset_version: str
    trigger: str
    started_at: AwareDatetime


class TrainingRunner:
    def __init__(
        self,
        trainer: Trainer,
        state: TrainingState,
        runs: RunStore,
        sink: EventSink,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._trainer, self._state, self._runs, self._sink = trainer, state, runs, sink
        self._now = now
        self._lock = asyncio.Lock()
        self.current: FitStatus | None = None
        self._unpublished: ModelTrained | None = None
        """A run stored but not yet published and marked done: a retry of the same job (a
        dependency was down) publishes this very event again, same id, rather than a twin."""

    async def on_dataset_validated(self, event: DatasetValidated) -> ModelTrained | None:
        await asyncio.to_thread(self._state.record_validated, event)
        what = f"{event.dataset}@{event.dataset_version[:12]}"
        job = TrainingJob.from_validated(event, policies=event, trigger="data", cause=event)
        if job is None:
            logger.info("%s: no training spec declared", what)
            return None
        async with self._lock:
            production = await asyncio.to_thread(self._state.production, job.model_name)
            decision = decide_on_new_data(
                job.spec.retraining, has_production=production is not None
            )
            if not decision.retrain:
                logger.info("%s: %s", what, decision.reason)
                return None
            return await self._run(job)

    async def on_training_requested(self, event: TrainingRequested) -> ModelTrained | None:
        async with self._lock:
            job = await asyncio.to_thread(self._requested_job, event)
            return None if job is None else await self._run(job)

    def _requested_job(self, event: TrainingRequested) -> TrainingJob | None:
        latest = self._state.latest(event.dataset)
        if latest is None:
            logger.warning("training requested for %s: no validated version known", event.dataset)
            return None
        version_id = event.dataset_version
        if version_id is None:
            newest = self._state.index(event.dataset).newest()
            version_id = newest.dataset_version if newest else latest.dataset_version
        version = self._state.validated(event.dataset, version_id)
        if version is None:
            logger.warning(
                "training requested for %s@%s: unknown version", event.dataset, version_id
            )
            return None
        job = TrainingJob.from_validated(
            version, policies=latest, trigger=event.trigger, cause=event
        )
        if job is None:
            logger.warning("training requested for %s: no training spec declared", event.dataset)
        return job

    async def on_retraining_signal(
        self, event: DriftDetected | PerformanceDegraded
    ) -> ModelTrained | None:
        trigger: RetrainingTrigger = "drift" if isinstance(event, DriftDetected) else "degradation"
        async with self._lock:
            job = await asyncio.to_thread(self._retraining_job, event, trigger)
            return None if job is None else await self._run(job)

    def _retraining_job(
        self, event: DriftDetected | PerformanceDegraded, trigger: RetrainingTrigger
    ) -> TrainingJob | None:
        name = f"{trigger} on {event.model_name} v{event.model_version}"
        latest = self._state.latest(event.dataset)
        if latest is None or latest.training is None:
            logger.info("%s: no training spec for dataset %s; not retraining", name, event.dataset)
            return None
        if (latest.training.model_name or latest.dataset) != event.model_name:
            logger.info(
                "%s: dataset %s now trains another model; not retraining", name, event.dataset
            )
            return None
        index = self._state.index(event.dataset)
        newest = index.newest()
        job = None
        if newest is not None:
            version = self._state.validated(event.dataset, newest.dataset_version)
            if version is None:
                # The version document is written before the index; this is lost state.
                logger.warning(
                    "%s: newest version %s has no state; not retraining",
                    name,
                    newest.dataset_version,
                )
                return None
            job = TrainingJob.from_validated(version, policies=latest, trigger=trigger, cause=event)
        production = self._state.production(event.model_name)
        baseline = index.get(production.dataset_version) if production else None
        decision = decide_retraining(
            trigger=trigger,
            policy=latest.training.retraining,
            now=self._now(),
            cause_event_id=event.event_id,
            last=self._state.retraining(event.model_name),
            newest_version=newest.dataset_version if newest else None,
            newest_rows=newest.rows if newest else 0,
            newest_already_trained=job is not None
            and self._runs.is_done(job.model_name, job.run_id),
            production_version=production.dataset_version if production else None,
            production_rows=baseline.rows if baseline else None,
        )
        if not decision.retrain or newest is None or job is None:
            logger.info("%s: not retraining: %s", name, decision.reason)
            return None
        logger.info("%s: retraining on %s: %s", name, newest.dataset_version[:12], decision.reason)
        # Persisted before the fit: the next signal in a storm sees the cooldown.
        self._state.record_retraining(
            RetrainingRecord(
                model_name=event.model_name,
                dataset=event.dataset,
                dataset_version=newest.dataset_version,
                trigger=trigger,
                cause_event_id=event.event_id,
                started_at=self._now(),
            )
        )
        return job

    async def on_model_promoted(self, event: ModelPromoted) -> None:
        if event.alias != "production":
            return
        await asyncio.to_thread(self._state.record_production, event.model)
        logger.info("production %s is now v%d", event.model.model_name, event.model.version)

    async def _run(self, job: TrainingJob) -> ModelTrained | None:
        """Train, publish, then mark done; callers hold the lock."""
        what = f"{job.model_name} run {job.run_id} ({job.version.dataset}@{job.version.dataset_version[:12]})"
        if await asyncio.to_thread(self._runs.is_done, job.model_name, job.run_id):
            logger.info("%s already trained; skipping", what)
            return None
        champion = await asyncio.to_thread(self._state.production, job.model_name)
        job = replace(job, champion=champion)
        self.current = FitStatus(
            model=job.model_name,
            run_id=job.run_id,
            dataset=job.version.dataset,
            dataset_version=job.version.dataset_version,
            trigger=job.trigger,
            started_at=self._now(),
        )
        trained = self._unpublished
        if trained is None or not _same_run(trained, job):
            logger.info("training %s, trigger %s", what, job.trigger)
            try:
                trained = await asyncio.to_thread(self._trainer.train, job)
            except CannotTrain as error:
                # No retry can fix the spec or the data; a corrected declaration makes a new run.
                logger.error("cannot train %s (%s): %s", what, error.code, error)
                failed = FailedRun(
                    model_name=job.model_name,
                    run_id=job.run_id,
                    dataset=job.version.dataset,
                    dataset_version=job.version.dataset_version,
                    trigger=job.trigger,
                    reason=Reason(code=error.code, message=str(error)),
                    failed_at=self._now(),
                )
                await asyncio.to_thread(self._runs.mark_failed, failed)
                self._trainer.forget(job.run_id)  # e.g. a fit whose artifact was too large
                await asyncio.to_thread(release_memory)
                return None
            finally:
                self.current = None
            self._unpublished = trained
        else:
            self.current = None
            logger.info("publishing %s again (trained before its publish failed)", what)
        await self._sink.publish(trained)
        await asyncio.to_thread(self._runs.mark_done, trained)
        self._unpublished = None
        self._trainer.forget(job.run_id)
        # The fit's data and candidates are garbage now: give their pages back, or the service
        # stays at its peak RSS (hundreds of MB after a large fit) until the next run.
        await asyncio.to_thread(release_memory)
        logger.info("trained %s: %s %s", what, trained.estimator, trained.metrics.values)
        return trained


def _same_run(trained: ModelTrained, job: TrainingJob) -> bool:
    """``trained`` answers ``job``: same run, same cause, judged against the same champion."""
    return (
        trained.run_id == job.run_id
        and str(trained.causation_id) == str(job.cause.event_id)
        and trained.champion_version == (job.champion.version if job.champion else None)
    )
