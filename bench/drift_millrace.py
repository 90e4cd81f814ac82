"""Millrace's side of #7, as a worker process: monitoring's drift core on windows.

The reference profile is built once by ingestion's own profiling (as the platform does when
the dataset arrives) and prepared once as monitoring prepares it; each job then times what a
closed window costs: the columns as arrays, ``check_window``, and its result as JSON (what the
Evidently side's ``snapshot.json()`` is to it). The KS tests run against the profile's sample
(``ProfileOptions.sample_size`` rows): the Evidently side gets a reference of that many rows.

Other jobs: the false-alarm rate over same-distribution windows (with the shipped effect-size
floors, or with them off: then only the tests and BH keep alarms at the significance), and
detection power: the share of windows flagging a column shifted by a given number of sd.

Protocol: one JSON job per stdin line, one JSON answer per stdout line.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from millrace_contracts import DatasetProfile, FeatureSignature, MonitoringPolicy
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.profiling import ProfileOptions, build_profile
from millrace_monitoring.core.drift import WindowValues, check_window
from millrace_monitoring.core.reference import build_reference
from millrace_monitoring.core.values import as_labels

from .drift_data import CATEGORICAL, NUMERIC, digest, frame, reference, window, window_seed

SIGNATURE = [FeatureSignature(name=n, kind="numeric", dtype="float") for n in NUMERIC] + [
    FeatureSignature(name=c, kind="categorical", dtype="string") for c in CATEGORICAL
]


def reference_profile(df: pd.DataFrame, dataset: str, version: str) -> DatasetProfile:
    """The profile ingestion builds when the dataset arrives (monitoring's #5 uses it too)."""
    columns = [ColumnSpec(name=n, dtype="float") for n in NUMERIC] + [
        ColumnSpec(name=c, dtype="category") for c in CATEGORICAL
    ]
    return build_profile(
        df,
        columns,
        dataset=dataset,
        version=version,
        created_at=datetime.now(UTC),
        options=ProfileOptions(),
    )


def main() -> None:
    policy = MonitoringPolicy()
    started = time.perf_counter()
    reference_frame = reference()
    prepared = time.perf_counter()
    profile = reference_profile(reference_frame, "bench", "0" * 64)
    prepared_reference = build_reference(profile, SIGNATURE)
    done = time.perf_counter()
    hello = {
        "reference_digest": digest(reference_frame),
        "generate_seconds": prepared - started,
        "profile_and_prepare_seconds": done - prepared,
        "profile_json_bytes": len(profile.model_dump_json()),
        "policy": policy.model_dump(),
        "reference_sample_rows": ProfileOptions().sample_size,
    }
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        if job["kind"] == "time":
            df = window(job)
            answer = _time(prepared_reference, df, policy)
            answer["digest"] = digest(df)
        elif job["kind"] == "profile":
            df = frame(job["rows"], window_seed(job["rows"], 0, True), drifted=True)
            answer = _profile(prepared_reference, df, policy)
        elif job["kind"] == "power":
            answer = _power(prepared_reference, policy, job["rows"], job["count"], job["shift_sd"])
        else:  # false alarms over many same-distribution windows
            judged = policy if job.get("floors", True) else _no_floors(policy)
            answer = _false_alarms(prepared_reference, judged, job["rows"], job["count"])
        print(json.dumps(answer), flush=True)


def _check(reference: Any, df: Any, policy: MonitoringPolicy) -> list[Any]:
    values = WindowValues(
        numeric={n: df[n].to_numpy(dtype=np.float64) for n in NUMERIC},
        categorical={c: as_labels(df[c].tolist()) for c in CATEGORICAL},
    )
    return check_window(reference, values, policy)


def _time(reference: Any, df: Any, policy: MonitoringPolicy) -> dict[str, Any]:
    started = time.perf_counter()
    features = _check(reference, df, policy)
    output = json.dumps([f.model_dump(mode="json") for f in features])
    seconds = time.perf_counter() - started
    assert output
    return {"seconds": seconds, "drifted": sorted(f.feature for f in features if f.drifted)}


def _profile(reference: Any, df: Any, policy: MonitoringPolicy) -> dict[str, Any]:
    """Where one check's time goes (cProfile), by own and by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    _check(reference, df, policy)
    profiler.disable()
    seconds = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((own, cumulative, calls, f"{Path(filename).name}:{line}({name})"))

    def top(index: int) -> list[str]:
        ranked = sorted(rows, key=lambda r: r[index], reverse=True)[:12]
        return [f"{r[3]} {1000 * r[index]:.0f}ms x{r[2]}" for r in ranked]

    return {"seconds": seconds, "by_own_time": top(0), "by_cumulative_time": top(1)}


def _no_floors(policy: MonitoringPolicy) -> MonitoringPolicy:
    return policy.model_copy(update={"psi_floor": 0.0, "ks_floor": 0.0})


SHIFTED = "n00"
"""The column the power job shifts: normal, sd 1.0 (``drift_data.frame``)."""


def _power(
    reference: Any, policy: MonitoringPolicy, rows: int, count: int, shift_sd: float
) -> dict[str, Any]:
    """Same-distribution windows with ``SHIFTED``'s mean moved by ``shift_sd`` sd: how many
    windows flag it (shipped policy, floors on)."""
    flagged = 0
    for index in range(count):
        df = frame(rows, window_seed(rows, index, False) + 700_000)
        df[SHIFTED] = df[SHIFTED] + shift_sd * 1.0
        drifted = {f.feature for f in _check(reference, df, policy) if f.drifted}
        flagged += SHIFTED in drifted
    return {"windows": count, "windows_flagging_shift": flagged, "column": SHIFTED}


def _false_alarms(
    reference: Any, policy: MonitoringPolicy, rows: int, count: int
) -> dict[str, Any]:
    alarms, flagged = 0, 0
    for index in range(count):
        df = frame(rows, window_seed(rows, index, False) + 500_000)
        drifted = [f.feature for f in _check(reference, df, policy) if f.drifted]
        alarms += bool(drifted)
        flagged += len(drifted)
    return {"windows": count, "windows_with_alarm": alarms, "features_flagged": flagged}


if __name__ == "__main__":
    main()
