"""Evidently's side of #7, as a worker process in bench/.envs/evidently.

DataDriftPreset with the same tests forced (KS for numeric columns, chi-square for
categorical ones) at the same threshold as Millrace's significance, JSON output only. The
reference is prepared once (as Millrace's is): a ``Dataset`` of as many reference rows as
Millrace's profile keeps to test against (``sample_size``, drawn from the same 100k rows).
Each job times what one check costs through Evidently's API: the window's dataset, the
report, its JSON.

Usage: python evidently_drift.py SIGNIFICANCE REFERENCE_SAMPLE_ROWS

Protocol: one JSON job per stdin line, one JSON answer per stdout line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drift_data import CATEGORICAL, NUMERIC, digest, reference, window
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main() -> None:
    threshold, sample_rows = float(sys.argv[1]), int(sys.argv[2])
    ref = reference()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    sample = ref.sample(n=min(sample_rows, len(ref)), random_state=0).reset_index(drop=True)
    prepared = Dataset.from_pandas(sample, data_definition=definition)
    print(json.dumps({"reference_digest": digest(ref), "reference_rows": len(sample)}), flush=True)
    for line in sys.stdin:
        df = window(json.loads(line))
        started = time.perf_counter()
        report = Report(
            [DataDriftPreset(num_method="ks", cat_method="chisquare", threshold=threshold)]
        )
        snapshot = report.run(
            reference_data=prepared,
            current_data=Dataset.from_pandas(df, data_definition=definition),
        )
        output = snapshot.json()
        seconds = time.perf_counter() - started
        drifted = []
        for metric in json.loads(output)["metrics"]:
            config = metric.get("config", {})
            if config.get("type", "").endswith("ValueDrift") and metric["value"] < threshold:
                drifted.append(config["column"])
        print(
            json.dumps({"seconds": seconds, "drifted": sorted(drifted), "digest": digest(df)}),
            flush=True,
        )


if __name__ == "__main__":
    main()
