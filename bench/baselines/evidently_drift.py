"""Evidently's side of #7, as a worker process in bench/.envs/evidently.

DataDriftPreset with the same tests forced (KS for numeric columns, chi-square for
categorical ones) at the same threshold as Millrace's significance, JSON output only. Each
job times what one check costs through Evidently's API: both datasets, the report, its JSON.

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
    threshold = float(sys.argv[1])
    ref = reference()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    print(json.dumps({"reference_digest": digest(ref)}), flush=True)
    for line in sys.stdin:
        df = window(json.loads(line))
        started = time.perf_counter()
        report = Report(
            [DataDriftPreset(num_method="ks", cat_method="chisquare", threshold=threshold)]
        )
        snapshot = report.run(
            reference_data=Dataset.from_pandas(ref, data_definition=definition),
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
