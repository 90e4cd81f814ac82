"""The scale rows (s1-s3, issue 14) in quick form, once: only correctness is asserted, never a
time, rate or ratio (the machine is shared; speed belongs to ``bench/run``'s table).

What must hold: the cluster's search gives the same winner, candidates and scores as in
process; every flow of both waves (1 and 2 replicas of every service) is decided exactly once,
read from the topics and the registry; every request to 1 or 2 deployment replicas is answered
and all replicas give the same labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bench_support import run_bench

pytestmark = pytest.mark.bench


def test_search_row_quick(tmp_path: Path) -> None:
    """s1 alone: no stack, a cluster of two worker processes."""
    data = run_bench(tmp_path, "s1", timeout=1400).data
    assert data["skipped"] == [], data["skipped"]
    search = {r["bench"]: r for r in data["rows"]}["s1"]["details"]
    assert search["same_results_every_round"] is True
    for measured in search["rounds"]:
        assert measured["cluster"]["leaderboard"] == measured["in_process"]["leaderboard"]
        assert measured["cluster"]["winner"] == measured["in_process"]["winner"]
        assert measured["cluster"]["stopped_by"] == "max_candidates"


@pytest.mark.skipif(
    os.environ.get("MILLRACE_BENCH_SCALE_TEST") != "1",
    reason="the replica rows' smoke run (a stack and 18 service processes, ~3 min on a quiet "
    "2-core machine) is the long form: MILLRACE_BENCH_SCALE_TEST=1; CI keeps its time for "
    "tests/e2e/test_replicas.py, which runs the same replica sets with assertions",
)
@pytest.mark.timeout(1500)  # one stack, 3 + 15 service processes: slow on a busy 2-core box
def test_replica_rows_quick(tmp_path: Path) -> None:
    data = run_bench(tmp_path, "s2,s3", timeout=1400).data
    assert data["skipped"] == [], data["skipped"]
    rows = {r["bench"]: r for r in data["rows"]}
    assert {"s2", "s3"} <= set(rows)

    waves = rows["s2"]["details"]
    for side in ("one", "two"):
        assert waves[side], side
        for wave in waves[side]:
            assert wave["problems"] == [], wave["problems"]
            assert wave["registry_checked"] == wave["datasets"]
    assert data["facts"]["s2_correct"]["problems"] == []

    assert data["facts"]["s3_correct"] == {"failed_requests": 0, "same_labels": True}
    serving = rows["s3"]["details"]["runs"]
    for run in serving["two"]:
        assert all(count > 0 for count in run["per_port"].values()), run["per_port"]
    for run in [*serving["one"], *serving["two"]]:
        assert run["requests"] > 0 and run["errors"] == 0 and run["dropped"] == 0
