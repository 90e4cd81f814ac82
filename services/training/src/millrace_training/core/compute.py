"""Where a training job's heavy work runs: in this process, or on a Dask cluster.

``MILLRACE_TRAINING_CLUSTER`` names the cluster as a URL whose scheme says which engine:
``dask://host:8786`` (a Dask scheduler's TCP address). Other engines (``ray://``) would be
another ``Compute`` behind another scheme; only Dask is implemented.

The work shipped is the AutoML search's cross-validation, one task per (candidate, fold), and
the final fit of the chosen pipeline. The rows are sent to the cluster once per job (scattered)
and every task refers to them. The data must fit in a worker's memory (docs/scaling.md). Each task is a pure function of its inputs (the estimator's
seed is in its parameters, the folds are computed here), so with a count budget the scores do
not depend on where they ran.

Dask is an optional extra (``millrace-training[dask]``): it is imported only when a cluster is
configured. scikit-learn too is imported by the first task, not at start (issue 16, #9: idle
RSS); settings and start-up checks use this module without it.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from millrace_shared.faults import DependencyUnavailable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# distributed ships no type hints: its client is handled as ``Any`` here.
Client = Any

logger = logging.getLogger("millrace.training.compute")

DASK = "dask"
"""The dependency name a cluster outage is reported under (``/health/ready``)."""

SCHEMES = {"dask": "tcp"}
"""Cluster URL scheme -> the engine's own address scheme. ``ray`` is reserved, not built."""

CONNECT_SECONDS = 10.0
"""How long to wait for the scheduler before the job is retried later (a transient fault)."""


@dataclass(frozen=True)
class ClusterTarget:
    engine: str
    address: str
    """The engine's own address, e.g. ``tcp://host:8786``."""


def parse_cluster(url: str) -> ClusterTarget:
    """``dask://host:8786`` -> (dask, tcp://host:8786); anything else is a configuration error."""
    parts = urlsplit(url)
    if parts.scheme == "ray":
        raise ValueError("ray:// clusters are not supported yet; use dask://host:port")
    if parts.scheme not in SCHEMES:
        raise ValueError(f"cluster URL {url!r}: scheme must be one of {sorted(SCHEMES)}")
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"cluster URL {url!r}: expected {parts.scheme}://host:port")
    try:
        port = parts.port or 8786
    except ValueError as error:
        raise ValueError(f"cluster URL {url!r}: {error}") from error
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return ClusterTarget(parts.scheme, f"{SCHEMES[parts.scheme]}://{host}:{port}")


@dataclass(frozen=True)
class FoldTask:
    pipeline: Any
    """Unfitted; cloned before fitting, so the caller's object is never changed."""
    train: np.ndarray
    test: np.ndarray


def score_fold(
    pipeline: Any,
    features: pd.DataFrame,
    target: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    scoring: str,
) -> float:
    """One fold of ``cross_val_score`` with ``error_score=nan``: fit on train, score on test.

    Module-level, so a Dask worker imports it (workers need ``millrace-training`` installed).
    """
    from sklearn.base import clone
    from sklearn.metrics import check_scoring

    estimator = clone(pipeline)
    try:
        estimator.fit(features.iloc[train], target[train])
        scorer = check_scoring(estimator, scoring=scoring)
        return float(scorer(estimator, features.iloc[test], target[test]))
    except Exception as error:  # like error_score=nan: the candidate goes unranked
        warnings.warn(f"fold failed: {type(error).__name__}: {error}", stacklevel=1)
        return math.nan


def fit_pipeline(pipeline: Any, features: pd.DataFrame, target: np.ndarray) -> Any:
    from sklearn.base import clone

    fitted = clone(pipeline)
    fitted.fit(features, target)
    return fitted


class ComputeSession(Protocol):
    """One job's data, placed where the work runs."""

    @property
    def parallelism(self) -> int:
        """How many tasks can run at once."""
        ...

    def score_folds(self, tasks: Sequence[FoldTask], scoring: str) -> list[float]: ...

    def fit(self, pipeline: Any) -> Any:
        """A fitted clone of ``pipeline`` on the whole session's data."""
        ...


class Compute(Protocol):
    name: str

    def session(
        self, features: pd.DataFrame, target: np.ndarray
    ) -> AbstractContextManager[ComputeSession]: ...


class LocalSession:
    """Everything in this process, one task after the other (the default)."""

    parallelism = 1

    def __init__(self, features: pd.DataFrame, target: np.ndarray) -> None:
        self._features, self._target = features, target

    def score_folds(self, tasks: Sequence[FoldTask], scoring: str) -> list[float]:
        return [
            score_fold(t.pipeline, self._features, self._target, t.train, t.test, scoring)
            for t in tasks
        ]

    def fit(self, pipeline: Any) -> Any:
        return fit_pipeline(pipeline, self._features, self._target)


class LocalCompute:
    name = "local"

    @contextmanager
    def session(self, features: pd.DataFrame, target: np.ndarray) -> Iterator[ComputeSession]:
        yield LocalSession(features, target)


def _unavailable(error: BaseException) -> bool:
    """A connection problem with the cluster (as opposed to an error raised by a task)."""
    from distributed.comm.core import CommClosedError

    return isinstance(error, OSError | TimeoutError | CommClosedError)


class DaskSession:
    def __init__(self, client: Client, features: Any, target: Any, threads: int) -> None:
        self._client, self._features, self._target = client, features, target
        self.parallelism = max(1, threads)

    def score_folds(self, tasks: Sequence[FoldTask], scoring: str) -> list[float]:
        futures = [
            self._client.submit(
                score_fold,
                t.pipeline,
                self._features,
                self._target,
                t.train,
                t.test,
                scoring,
                pure=False,
            )
            for t in tasks
        ]
        return [float(s) for s in _gather(self._client, futures)]

    def fit(self, pipeline: Any) -> Any:
        future = self._client.submit(
            fit_pipeline, pipeline, self._features, self._target, pure=False
        )
        return _gather(self._client, [future])[0]


def _gather(client: Client, futures: list[Any]) -> list[Any]:
    try:
        return list(client.gather(futures))
    except Exception as error:
        if _unavailable(error):
            raise DependencyUnavailable(DASK, error) from error
        raise  # a task's own error (a ValueError of sklearn's checks, say): the caller judges


class DaskCompute:
    """A Dask cluster: one client per process, connected on first use."""

    name = DASK

    def __init__(self, address: str, *, connect_seconds: float = CONNECT_SECONDS) -> None:
        self.address, self._connect_seconds = address, connect_seconds
        self._client: Client | None = None
        self._lock = threading.Lock()

    def client(self) -> Client:
        """The process's client; an unreachable scheduler is a transient fault (``dask``)."""
        with self._lock:
            if self._client is not None and self._client.status in ("running", "connecting"):
                return self._client
            from distributed import Client as DaskClient

            connect: Any = DaskClient
            if self._client is not None:
                self._client.close()
                self._client = None
            try:
                self._client = connect(
                    self.address, timeout=self._connect_seconds, set_as_default=False
                )
            except (OSError, TimeoutError) as error:
                raise DependencyUnavailable(
                    DASK, f"cannot reach the Dask scheduler at {self.address}: {error}"
                ) from error
            logger.info("connected to the Dask scheduler at %s", self.address)
            return self._client

    @contextmanager
    def session(self, features: pd.DataFrame, target: np.ndarray) -> Iterator[ComputeSession]:
        client = self.client()
        try:
            threads = sum(client.nthreads().values())
            # Sent once to each worker (every fold needs all rows); the tasks refer to these
            # futures, so the rows are not shipped again with each task. hash=False: a
            # content-hashed key would be reused by the next job on the same rows while the
            # scheduler may still be releasing the previous job's copy, a known race
            # (dask/distributed#8576, #3703: lost keys, cancelled tasks).
            scattered_features, scattered_target = client.scatter(
                [features, target], broadcast=True, hash=False
            )
        except Exception as error:
            if _unavailable(error):
                raise DependencyUnavailable(DASK, error) from error
            raise
        # The scheduler frees the job's data once the session (holding the futures) is gone.
        yield DaskSession(client, scattered_features, scattered_target, threads)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def compute_for(cluster: str | None) -> Compute:
    """The ``Compute`` a ``MILLRACE_TRAINING_CLUSTER`` value asks for (None: in-process)."""
    if cluster is None:
        return LocalCompute()
    target = parse_cluster(cluster)
    try:
        import distributed  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            "MILLRACE_TRAINING_CLUSTER is set but Dask is not installed: "
            "install millrace-training[dask]"
        ) from error
    return DaskCompute(target.address)
