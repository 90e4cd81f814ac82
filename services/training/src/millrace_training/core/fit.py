"""The training use case: load a dataset version, fit, evaluate, compare, store.

Blocking from start to end (pandas, sklearn, object store): handlers run it in a worker
thread. Each stage is a span, so one trace shows where a slow or failed run spent its time.

The job's heavy libraries (pandas, pyarrow, scikit-learn, through ``candidate``, ``data``,
``metrics``, ``split``, ``champion``, ``card``) are imported by the first job, not at start:
an idle service does not hold them (issue 16, #9: idle RSS). Each job imports its functions
from their modules anew, so a test patches them there (``candidate.fit_candidate``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from millrace_contracts import FeatureSignature, Metrics, ModelTrained, ModelVersionInfo
from millrace_contracts.envelope import caused_by, utc_now
from millrace_shared.objectstore import ObjectStore
from millrace_shared.telemetry import Attr
from opentelemetry.trace import Span, Tracer

from .artifacts import ModelCache, check_trusted, dump_model, load_model, with_reference_rows
from .compute import Compute, LocalCompute
from .jobs import TrainingJob
from .limits import TrainingLimits
from .runs import ARTIFACT, CARD, RunStore

if TYPE_CHECKING:
    from .candidate import FittedCandidate
    from .champion import ChampionResult
    from .data import PreparedData
    from .split import Holdout


@dataclass(frozen=True)
class TrainerConfig:
    producer: str
    max_training_rows: int | None = None
    model_cache_max_bytes: int = 256 * 1024 * 1024
    """Keep the last model stored or loaded in memory if its artifact is at most this big."""
    limits: TrainingLimits = field(default_factory=TrainingLimits)
    compute: Compute = field(default_factory=LocalCompute)
    """Where the search's folds and the final fit run (``MILLRACE_TRAINING_CLUSTER``)."""


@dataclass(frozen=True)
class FitResult:
    """What a run computed before storing anything: the expensive part, kept for a retry."""

    key: tuple[str, int | None]
    """(run id, champion version): the same run judged against the same champion."""
    fitted: FittedCandidate
    signature: list[FeatureSignature]
    holdout: Holdout
    training_rows: int
    metrics: Metrics
    champion: ChampionResult | None
    seconds: float


def _key(job: TrainingJob) -> tuple[str, int | None]:
    return (job.run_id, job.champion.version if job.champion else None)


class Trainer:
    def __init__(
        self,
        store: ObjectStore,
        runs: RunStore,
        tracer: Tracer,
        config: TrainerConfig,
        *,
        timer: Callable[[], float] = time.perf_counter,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store, self._runs, self._tracer, self._config = store, runs, tracer, config
        self._timer, self._now = timer, now
        self._models = ModelCache(config.model_cache_max_bytes)
        self._pending: FitResult | None = None
        """The last fit whose run is not done yet. When storing or publishing it fails (S3 or
        Kafka down), the retry uses this one instead of fitting again; one entry, dropped by
        ``forget`` once the run is done or by the next run's fit."""

    @contextmanager
    def _span(self, name: str, job: TrainingJob, **extra: Any) -> Iterator[Span]:
        attributes = {
            Attr.DATASET: job.version.dataset,
            Attr.DATASET_VERSION: job.version.dataset_version,
            Attr.MODEL: job.model_name,
            Attr.RUN_ID: job.run_id,
            **extra,
        }
        with self._tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span

    def _load_champion(self, info: ModelVersionInfo) -> Any:
        # Still downloaded and checked: a champion whose artifact is gone or altered is not
        # judged, whatever this process remembers of it.
        data = self._store.get_bytes(info.artifact.uri, sha256=info.artifact.sha256)
        cached = self._models.get(info.artifact.sha256)
        if cached is not None:
            check_trusted(data)
            return cached
        model = load_model(data)
        self._models.put(info.artifact.sha256, len(data), model)
        return model

    def train(self, job: TrainingJob) -> ModelTrained:
        """Fit (or take the fit an earlier, failed try of this run left), then store it."""
        result = self._pending
        if result is None or result.key != _key(job):
            self._pending = None  # another run's: the memory is better spent on this fit
            result = self._fit(job)
            self._pending = result
        return self._store_run(job, result)

    def forget(self, run_id: str) -> None:
        """The run is done (published and marked): its fit is not needed again."""
        if self._pending is not None and self._pending.key[0] == run_id:
            self._pending = None

    def _fit(self, job: TrainingJob) -> FitResult:
        # Lazily, at the first job (see the module's docstring).
        from .candidate import fit_candidate
        from .data import needed_columns, prepare, read_parquet
        from .metrics import evaluate, scorer_for
        from .split import cap_rows, split_holdout

        spec = job.spec
        with self._span("load_data", job) as span:
            raw = read_parquet(
                self._store.get_bytes(job.version.data.uri, sha256=job.version.data.sha256),
                needed_columns(
                    job.version.columns, spec, job.champion.signature if job.champion else ()
                ),
            )
            data = prepare(raw, job.version.columns, spec)
            span.set_attribute(Attr.ROWS, data.rows)
        holdout = split_holdout(
            data.target, spec.task, spec.holdout_fraction, spec.seed, job.version.dataset_version
        )
        train_rows = cap_rows(holdout.train, self._config.max_training_rows, spec.seed)
        scorer = scorer_for(spec.task, job.promotion.primary_metric if job.promotion else None)

        with self._span("fit", job, **{Attr.ROWS: len(train_rows)}) as span:
            started = self._timer()
            fitted = fit_candidate(
                spec,
                data.features.iloc[train_rows],
                data.target[train_rows],
                data.numeric,
                data.categorical,
                scorer,
                limits=self._config.limits,
                compute=self._config.compute,
            )
            seconds = self._timer() - started
            span.set_attribute(Attr.ESTIMATOR, fitted.estimator)
        # Real rows of this dataset travel in the artifact: deployment checks its fast path
        # against the model on them before serving it (ADR 0009).
        with_reference_rows(fitted.pipeline, data.features, data.signature, spec.seed)

        extra = {Attr.ESTIMATOR: fitted.estimator, Attr.ROWS: len(holdout.test)}
        with self._span("evaluate", job, **extra):
            metrics = Metrics(
                values=evaluate(
                    fitted.pipeline,
                    data.features.iloc[holdout.test],
                    data.target[holdout.test],
                    spec.task,
                ),
                holdout_id=holdout.holdout_id,
                holdout_rows=len(holdout.test),
            )
        champion = self._champion(job, data, holdout.test, holdout.holdout_id)
        return FitResult(
            key=_key(job),
            fitted=fitted,
            signature=data.signature,
            holdout=holdout,
            training_rows=len(train_rows),
            metrics=metrics,
            champion=champion,
            seconds=seconds,
        )

    def _store_run(self, job: TrainingJob, result: FitResult) -> ModelTrained:
        from .card import CardFacts, card_bytes, model_card  # lazily: the module's docstring

        spec, fitted, champion = job.spec, result.fitted, result.champion
        metrics, seconds = result.metrics, result.seconds
        card = model_card(
            CardFacts(
                job=job,
                fitted=fitted,
                signature=result.signature,
                holdout=result.holdout,
                training_rows=result.training_rows,
                metrics=metrics,
                champion=champion,
                training_seconds=seconds,
                trained_at=self._now(),
            )
        )
        with self._span("upload", job, **{Attr.ESTIMATOR: fitted.estimator}) as span:
            dumped = dump_model(fitted.pipeline)
            # Before anything is stored: a model nothing downstream may load is not uploaded.
            self._config.limits.check_artifact(len(dumped))
            artifact = self._runs.put_once(
                self._runs.uri(job.model_name, job.run_id, ARTIFACT),
                dumped,
                "application/octet-stream",
            )
            if artifact.sha256 == hashlib.sha256(dumped).hexdigest():
                # Not when an earlier attempt's upload was kept: that one holds other bytes.
                self._models.put(artifact.sha256, len(dumped), fitted.pipeline)
            card_ref = self._runs.put_once(
                self._runs.uri(job.model_name, job.run_id, CARD),
                card_bytes(card),
                "application/json",
            )
            span.set_attribute(Attr.ARTIFACT_URI, artifact.uri)
            span.set_attribute(Attr.BYTES, artifact.size_bytes)

        return ModelTrained(
            **caused_by(ModelTrained, job.cause, producer=self._config.producer),
            model_name=job.model_name,
            run_id=job.run_id,
            dataset=job.version.dataset,
            dataset_version=job.version.dataset_version,
            task=spec.task,
            estimator=fitted.estimator,
            params=fitted.params,
            artifact=artifact,
            model_card=card_ref,
            reference_profile=job.version.profile,
            signature=result.signature,
            target=spec.target,
            metrics=metrics,
            champion_version=champion.version if champion else None,
            champion_metrics=champion.metrics if champion else None,
            leaderboard=fitted.leaderboard,
            trigger=job.trigger,
            training_seconds=seconds,
            promotion=job.promotion,
            monitoring=job.monitoring,
        )

    def _champion(
        self, job: TrainingJob, data: PreparedData, test_rows: Any, holdout_id: str
    ) -> ChampionResult | None:
        if job.champion is None:
            return None
        from .champion import evaluate_champion  # lazily: the module's docstring

        with self._span("evaluate_champion", job, **{Attr.MODEL_VERSION: job.champion.version}):
            return evaluate_champion(
                job.champion, self._load_champion, data, test_rows, holdout_id, job.spec.task
            )
