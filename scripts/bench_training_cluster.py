"""Wall time of one AutoML search in process vs on a local 2-worker Dask cluster.

    .venv/bin/python scripts/bench_training_cluster.py [rows]

A rough figure for docs/scaling.md, not a benchmark: on a small machine the workers share
its cores with this process (and everything else running).
"""

from __future__ import annotations

import sys
import time

import pandas as pd
from distributed import LocalCluster
from millrace_contracts import AutoMLSpec, Preprocessing
from millrace_training.core.automl import search
from millrace_training.core.compute import Compute, DaskCompute, LocalCompute
from millrace_training.core.limits import TrainingLimits
from millrace_training.core.metrics import scorer_for
from sklearn.datasets import make_classification


def timed(compute: Compute, features: pd.DataFrame, target: object) -> tuple[float, str]:
    spec = AutoMLSpec(
        candidates=["logistic_regression", "random_forest"], time_budget_seconds=3600, cv_folds=5
    )
    names = list(features.columns)
    started = time.perf_counter()
    with compute.session(features, target) as session:  # type: ignore[arg-type]
        result = search(
            spec,
            "classification",
            Preprocessing(),
            features,
            target,  # type: ignore[arg-type]
            names,
            [],
            scorer_for("classification", "accuracy"),
            seed=0,
            limits=TrainingLimits(automl_max_candidates=4),
            session=session,
        )
    return time.perf_counter() - started, f"{result.estimator} {result.leaderboard[0].cv_score:.6f}"


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    x, y = make_classification(n_samples=rows, n_features=20, random_state=0)
    features = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    seconds, best = timed(LocalCompute(), features, y)
    print(f"in process:        {seconds:6.1f}s  best {best}")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        compute = DaskCompute(cluster.scheduler_address)
        try:
            compute.client().wait_for_workers(2)
            seconds, best = timed(compute, features, y)
        finally:
            compute.close()
    print(f"2-worker cluster:  {seconds:6.1f}s  best {best}")


if __name__ == "__main__":
    main()
