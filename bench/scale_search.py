"""Row s1's measuring process: one AutoML search in process and on a 2-worker Dask
``LocalCluster``, interleaved, same data and count budget.

    python -m bench.scale_search --rounds 5 --rows 3000 --candidates 4 --folds 5

Run by ``bench.b_scale`` as a child process whose environment caps every native thread pool at
one thread (``OMP_NUM_THREADS=1`` etc.) before numpy is imported; the cluster's worker processes
inherit that environment. So the in-process side gets one process with one thread, the cluster
side two worker processes with one thread each (plus the scheduler and this client). Neither is
pinned: the cluster's point is to use more than one core. The cluster is started once and kept
for every round, as a user's existing cluster would be; only the search is timed (the data
scattered to the workers included, as the training service does per job).

Prints JSON: per round and side the wall time and the search's result (winner, every
candidate's cross-validation score), and a check that both sides agree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
CANDIDATES = ["logistic_regression", "random_forest"]
"""Plan points round-robin: logistic regression, a 100-tree forest, another logistic
regression, a 200-tree forest (depth 8): a mix of cheap and costly fits, as a real search."""


def _search(compute: Any, features: Any, target: Any, candidates: int, folds: int) -> Any:
    from millrace_contracts import AutoMLSpec, Preprocessing
    from millrace_training.core.automl import search
    from millrace_training.core.limits import TrainingLimits
    from millrace_training.core.metrics import scorer_for

    # A time budget far above the run: the count budget is what stops the search.
    spec = AutoMLSpec(candidates=CANDIDATES, time_budget_seconds=3600, cv_folds=folds)
    with compute.session(features, target) as session:
        return search(
            spec,
            "classification",
            Preprocessing(),
            features,
            target,
            list(features.columns),
            [],
            scorer_for("classification", "accuracy"),
            seed=0,
            limits=TrainingLimits(automl_max_candidates=candidates),
            session=session,
        )


def _summary(result: Any) -> dict[str, Any]:
    return {
        "winner": result.estimator,
        "params": {k: v for k, v in sorted(result.params.items())},
        "tried": result.tried,
        "stopped_by": result.stopped_by,
        "leaderboard": [
            [c.estimator, json.dumps(c.params, sort_keys=True, default=str), c.cv_score]
            for c in result.leaderboard
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    missing = {k: v for k, v in THREAD_ENV.items() if os.environ.get(k) != v}
    if missing:  # must be set before numpy loads its BLAS: refuse rather than measure wrong
        print(f"set {missing} in the environment first", file=sys.stderr)
        return 2

    import pandas as pd
    from distributed import LocalCluster
    from millrace_training.core.compute import DaskCompute, LocalCompute
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=args.rows, n_features=20, n_informative=8, random_state=0)
    features = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(x.shape[1])])
    out: dict[str, Any] = {"rounds": [], "workers": 2, "threads_per_worker": 1}
    local_cluster: Any = LocalCluster  # distributed ships no type hints
    with local_cluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
    ) as cluster:
        dask = DaskCompute(cluster.scheduler_address)
        try:
            client = dask.client()
            client.wait_for_workers(2)
            worker_pids = set(client.run(os.getpid).values())
            out["worker_pids_differ_from_client"] = os.getpid() not in worker_pids
            sides = {"in_process": LocalCompute(), "cluster": dask}
            # One untimed search per side: imports, the workers' first unpickling.
            for compute in sides.values():
                _search(compute, features, y, min(2, args.candidates), args.folds)
            for r in range(args.rounds):
                order = ["in_process", "cluster"] if r % 2 == 0 else ["cluster", "in_process"]
                measured: dict[str, Any] = {"order": order}
                for side in order:
                    started = time.perf_counter()
                    result = _search(sides[side], features, y, args.candidates, args.folds)
                    measured[side] = {
                        "seconds": time.perf_counter() - started,
                        **_summary(result),
                    }
                keys = ("winner", "params", "tried", "leaderboard")
                measured["same_results"] = all(
                    measured["in_process"][k] == measured["cluster"][k] for k in keys
                )
                out["rounds"].append(measured)
        finally:
            dask.close()
    json.dump(out, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
