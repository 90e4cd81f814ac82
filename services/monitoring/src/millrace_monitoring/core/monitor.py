"""The monitor: promoted versions, their windows and performance, fed batches of events.

Handlers call it from a worker thread (``asyncio.to_thread``) while the REST API reads it from
the event loop, so every read and write of the state holds one lock. Reference profiles are
fetched before the lock is taken: a slow store never stalls the API.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from itertools import accumulate
from typing import TypeVar

from millrace_contracts import (
    Event,
    LabelsObserved,
    ModelVersionInfo,
    PredictionsLogged,
)
from opentelemetry.trace import Tracer

from .checkpoint import MonitorPart, VersionCheckpoint, recent_columns, seen_by_model
from .checks import judge_performance, judge_window
from .loading import ReferenceLoader, ReferenceUnavailable
from .outbox import Outgoing
from .performance import RecentPredictions, Served
from .seen import SeenIds
from .snapshots import drift_view, history_view, models_view, performance_view
from .state import DEFAULT_MAX_WINDOW, VersionKey, VersionState
from .values import as_labels, numeric_columns
from .views import DriftView, HistoryView, ModelsView, PerformanceView
from .windows import Columns

E = TypeVar("E", bound=Event)


class Monitor:
    def __init__(
        self,
        *,
        loader: ReferenceLoader,
        recent: RecentPredictions,
        seen: SeenIds[int],
        tracer: Tracer,
        producer: str,
        max_window: int = DEFAULT_MAX_WINDOW,
    ) -> None:
        self._max_window = max_window
        self._loader = loader
        self._recent = recent
        self._seen = seen
        self._tracer = tracer
        self._producer = producer
        self._lock = threading.Lock()
        self._versions: dict[VersionKey, VersionState] = {}
        self._unknown: Counter[VersionKey] = Counter()
        self._label_misses: Counter[str] = Counter()

    # -- promotions -------------------------------------------------------------------------

    def knows(self, info: ModelVersionInfo, alias: str) -> bool:
        with self._lock:
            state = self._versions.get((info.model_name, info.version))
            return state is not None and state.info == info and alias in state.promoted_as

    def promoted_as(self, info: ModelVersionInfo) -> set[str]:
        with self._lock:
            state = self._versions.get((info.model_name, info.version))
            return set(state.promoted_as) if state is not None and state.info == info else set()

    def learn(self, info: ModelVersionInfo, aliases: Iterable[str]) -> None:
        """Know (or re-know) a version; a changed reference or policy starts it afresh."""
        with self._lock:
            key = (info.model_name, info.version)
            state = self._versions.get(key)
            if state is None or state.info != info:
                state = VersionState.of(info, set(aliases), self._max_window)
                self._versions[key] = state
            state.promoted_as.update(aliases)

    # -- predictions ------------------------------------------------------------------------

    def observe_predictions(self, events: Sequence[PredictionsLogged]) -> list[Outgoing]:
        """Window the batch's inputs per version; a DriftDetected for each drifted window."""
        with self._lock:
            fresh = self._fresh(events)
        self._load_references({(e.model_name, e.model_version) for e in fresh})
        produced: list[Outgoing] = []
        with self._lock:
            for key, run in _by_version(fresh).items():
                produced += self._window(key, run)
            for event in fresh:
                self._seen.add(event.event_id.int, event.model_name)
        return produced

    def _load_references(self, keys: set[VersionKey]) -> None:
        for key in sorted(keys):
            with self._lock:
                state = self._versions.get(key)
                info = state.info if state is not None and state.needs_reference else None
            if info is None:
                continue
            try:
                reference, error = self._loader.load(info), None
            except ReferenceUnavailable as unavailable:
                reference, error = None, str(unavailable)
            with self._lock:
                state = self._versions.get(key)
                if state is not None and state.info == info and state.needs_reference:
                    state.reference, state.reference_error = reference, error

    def _window(self, key: VersionKey, run: list[PredictionsLogged]) -> list[Outgoing]:
        state = self._versions.get(key)
        records = [r for event in run for r in event.predictions]
        if state is None:
            # Never promoted: nothing to compare with nor a task to score labels by.
            self._unknown[key] += len(records)
            return []
        model_name, version = key
        remember = self._recent.remember
        for record in records:
            remember(record.prediction_id, Served(model_name, version, record.output))
        state.predictions_seen += len(records)
        if state.reference is None:
            state.unmonitored += len(records)
            return []
        features = [r.features for r in records]
        columns = Columns(
            numeric=numeric_columns(features, state.reference.numeric_names),
            categorical={
                name: as_labels([f.get(name) for f in features])
                for name in state.reference.categorical_names
            },
            timestamps=[r.timestamp for r in records],
        )
        ends = list(accumulate(len(e.predictions) for e in run))
        produced: list[Outgoing] = []
        for window in state.window.add(columns):
            cause = run[bisect_left(ends, window.end)]
            drift = judge_window(state, window, cause, tracer=self._tracer, producer=self._producer)
            if drift is not None:
                produced.append(drift)
        return produced

    # -- labels -----------------------------------------------------------------------------

    def observe_labels(self, events: Sequence[LabelsObserved]) -> list[Outgoing]:
        """Join labels to remembered predictions; a PerformanceDegraded when one falls."""
        produced: list[Outgoing] = []
        with self._lock:
            for event in self._fresh(events):
                touched: dict[VersionKey, VersionState] = {}
                for label in event.labels:
                    served = self._recent.take(label.prediction_id)
                    state = (
                        self._versions.get((served.model_name, served.model_version))
                        if served is not None
                        else None
                    )
                    if served is None or state is None:
                        self._label_misses[event.model_name] += 1
                        continue
                    state.performance.add(served.output, label.label)
                    touched[state.key] = state
                for state in touched.values():
                    degraded = judge_performance(
                        state, event, tracer=self._tracer, producer=self._producer
                    )
                    if degraded is not None:
                        produced.append(degraded)
                self._seen.add(event.event_id.int, event.model_name)
        return produced

    def _fresh(self, events: Sequence[E]) -> list[E]:
        """Events not handled before, each once (a batch may hold a producer's retry too).

        Called with the lock held.
        """
        fresh: list[E] = []
        ids: set[int] = set()
        for event in events:
            key = event.event_id.int  # an int hashes in C; a UUID's __hash__ is Python code
            if key in self._seen or key in ids:
                self._seen.repeats += 1
                continue
            ids.add(key)
            fresh.append(event)
        return fresh

    # -- checkpoints ------------------------------------------------------------------------

    def export(self, models: Collection[str]) -> MonitorPart:
        """The state of ``models``, consistent at one moment (for a partition's checkpoint).

        The lock is held only to copy: the big memories (recent predictions, seen ids) are
        copied whole in C and sorted out after, so the REST API and batches are not stalled.
        """
        with self._lock:
            versions = [
                VersionCheckpoint.of(s)
                for key, s in sorted(self._versions.items())
                if key[0] in models
            ]
            unknown = {k: n for k, n in self._unknown.items() if k[0] in models}
            label_misses = {m: n for m, n in self._label_misses.items() if m in models}
            recent = self._recent.items()
            seen = self._seen.items()
        by_model: dict[str, dict[int, int]] = {}
        for (model, version), count in sorted(unknown.items()):
            by_model.setdefault(model, {})[version] = count
        return MonitorPart(
            models=sorted(models),
            versions=versions,
            unknown=by_model,
            label_misses=label_misses,
            recent=recent_columns(recent, models),
            seen=seen_by_model(seen, models),
        )

    def restore(self, part: MonitorPart) -> None:
        """Take back ``part``'s models as a checkpoint left them, replacing what is held."""
        with self._lock:
            self._forget(part.models)
            for saved in part.versions:
                key = (saved.info.model_name, saved.info.version)
                state = self._versions.get(key)
                if state is None:
                    state = VersionState.of(saved.info, set(saved.promoted_as))
                    self._versions[key] = state
                elif state.info != saved.info:
                    continue  # re-promoted with another reference or policy: it starts afresh
                saved.apply(state)
            for model, versions in part.unknown.items():
                for version, count in versions.items():
                    self._unknown[(model, version)] = count
            self._label_misses.update(part.label_misses)
            self._recent.restore(part.recent_items())
            self._seen.restore(part.seen_items())

    def forget(self, models: Collection[str]) -> None:
        """Drop the progress of ``models`` (their partition went to another replica); the
        versions stay known, with their reference."""
        with self._lock:
            self._forget(models)

    def _forget(self, models: Collection[str]) -> None:
        for key, state in list(self._versions.items()):
            if key[0] in models:
                fresh = VersionState.of(state.info, state.promoted_as)
                fresh.reference, fresh.reference_error = state.reference, state.reference_error
                self._versions[key] = fresh
        for key in [k for k in self._unknown if k[0] in models]:
            del self._unknown[key]
        for model in models:
            self._label_misses.pop(model, None)
        self._recent.forget(models)
        self._seen.forget(models)

    # -- views ------------------------------------------------------------------------------

    def models(self) -> ModelsView:
        with self._lock:
            return models_view(
                self._versions.values(), self._unknown, self._recent, self._label_misses, self._seen
            )

    def drift(self, model_name: str) -> DriftView | None:
        with self._lock:
            return drift_view(model_name, self._versions.values())

    def history(self, model_name: str) -> HistoryView | None:
        with self._lock:
            return history_view(model_name, self._versions.values())

    def performance(self, model_name: str) -> PerformanceView | None:
        with self._lock:
            return performance_view(model_name, self._versions.values(), self._label_misses)


def _by_version(events: Sequence[PredictionsLogged]) -> dict[VersionKey, list[PredictionsLogged]]:
    runs: dict[VersionKey, list[PredictionsLogged]] = {}
    for event in events:
        runs.setdefault((event.model_name, event.model_version), []).append(event)
    return runs
