"""Live performance from late labels: a bounded memory of predictions and a rolling metric.

Classification is judged by accuracy, regression by mean absolute error. For an error metric
the policy's ``performance_floor`` is a ceiling: MAE above it is degraded (worse is higher).
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeGuard

from millrace_contracts import MonitoringPolicy
from millrace_contracts.common import ScalarValue, Task

METRIC_OF_TASK: dict[str, str] = {"classification": "accuracy", "regression": "mae"}


class Served(NamedTuple):
    model_name: str
    model_version: int
    output: ScalarValue


class RecentPredictions:
    """prediction_id -> what was served, for the newest ``capacity`` predictions only, and
    the newest ``per_model`` of each model: one busy (or flooded) model cannot push every
    other model's predictions out before their labels arrive. The oldest go first, counted
    (``evicted``, and per model in ``evicted_by_model``)."""

    def __init__(self, capacity: int, per_model: int | None = None) -> None:
        self.capacity = capacity
        self.per_model = capacity if per_model is None else min(per_model, capacity)
        self.evicted = 0
        self.evicted_by_model: Counter[str] = Counter()
        self._served: OrderedDict[str, Served] = OrderedDict()
        self._of_model: dict[str, OrderedDict[str, None]] = {}
        """Each model's remembered ids, oldest first."""

    def __len__(self) -> int:
        return len(self._served)

    def held(self, model_name: str) -> int:
        return len(self._of_model.get(model_name, ()))

    def remember(self, prediction_id: str, served: Served) -> None:
        if prediction_id in self._served:
            self._forget(prediction_id)
        self._served[prediction_id] = served
        ids = self._of_model.setdefault(served.model_name, OrderedDict())
        ids[prediction_id] = None
        if len(ids) > self.per_model:
            self._evict(next(iter(ids)))
        if len(self._served) > self.capacity:
            self._evict(next(iter(self._served)))

    def take(self, prediction_id: str) -> Served | None:
        """The prediction a label is for, forgotten once joined: a repeated label is a miss."""
        return self._forget(prediction_id)

    def _evict(self, prediction_id: str) -> None:
        served = self._forget(prediction_id)
        if served is not None:
            self.evicted += 1
            self.evicted_by_model[served.model_name] += 1

    def _forget(self, prediction_id: str) -> Served | None:
        served = self._served.pop(prediction_id, None)
        if served is not None:
            ids = self._of_model[served.model_name]
            del ids[prediction_id]
            if not ids:
                del self._of_model[served.model_name]
        return served

    def items(self) -> list[tuple[str, Served]]:
        """(prediction id, what was served), oldest first: a copy, taken in C (cheap under a
        lock)."""
        return list(self._served.items())

    def restore(self, items: Iterable[tuple[str, Served]]) -> None:
        for prediction_id, served in items:
            self.remember(prediction_id, served)

    def forget(self, models: Collection[str]) -> None:
        self._served = OrderedDict(
            (p, s) for p, s in self._served.items() if s.model_name not in models
        )
        for model in models:
            self._of_model.pop(model, None)


def score(task: Task, output: ScalarValue, label: ScalarValue) -> float | None:
    """1/0 for a right/wrong class, the absolute error for a regression; None if unscorable."""
    if output is None or label is None:
        return None
    if task == "classification":
        return 1.0 if _same_class(output, label) else 0.0
    try:
        return abs(float(output) - float(label))
    except (TypeError, ValueError):
        return None


def _same_class(output: ScalarValue, label: ScalarValue) -> bool:
    if _is_number(output) and _is_number(label):
        return float(output) == float(label)
    # Labels may travel as strings ("1", "True"); categories compare as str(), like ingestion.
    return str(output) == str(label)


def _is_number(value: ScalarValue) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class PerformanceTracker:
    """The metric over the most recent ``span`` labelled predictions of one version.

    ``span`` is the larger of the policy's window size and ``min_labels``. Alerts are rate
    limited: the first when the metric crosses the floor with enough labels, then at most one
    per ``span`` further labels while it stays there (a reminder, not a storm).
    """

    task: Task
    policy: MonitoringPolicy
    labelled: int = 0
    unscorable: int = 0
    alerts: int = 0
    _scores: deque[float] = field(init=False)
    _since_alert: int | None = None

    def __post_init__(self) -> None:
        self._scores = deque(maxlen=self.span)

    @property
    def span(self) -> int:
        return max(self.policy.window_size, self.policy.min_labels)

    @property
    def metric(self) -> str:
        return METRIC_OF_TASK[self.task]

    @property
    def window(self) -> int:
        """Labels the current value is over."""
        return len(self._scores)

    def add(self, output: ScalarValue, label: ScalarValue) -> None:
        value = score(self.task, output, label)
        if value is None:
            self.unscorable += 1
            return
        self._scores.append(value)
        self.labelled += 1
        if self._since_alert is not None:
            self._since_alert += 1

    @property
    def scores(self) -> list[float]:
        """The scores the metric is over, oldest first (for a checkpoint)."""
        return list(self._scores)

    @property
    def since_alert(self) -> int | None:
        return self._since_alert

    def restore(
        self,
        *,
        labelled: int,
        unscorable: int,
        alerts: int,
        scores: Iterable[float],
        since_alert: int | None,
    ) -> None:
        self.labelled, self.unscorable, self.alerts = labelled, unscorable, alerts
        self._scores = deque(scores, maxlen=self.span)
        self._since_alert = since_alert

    def value(self) -> float | None:
        return sum(self._scores) / len(self._scores) if self._scores else None

    def degraded(self) -> bool:
        floor, value = self.policy.performance_floor, self.value()
        if floor is None or value is None or self.window < self.policy.min_labels:
            return False
        return value > floor if self.metric == "mae" else value < floor

    def should_alert(self) -> bool:
        """True (and counted) when a degradation is to be reported now."""
        if not self.degraded():
            return False
        if self._since_alert is not None and self._since_alert < self.span:
            return False
        self._since_alert = 0
        self.alerts += 1
        return True
