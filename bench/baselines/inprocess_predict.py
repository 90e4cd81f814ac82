"""The in-process floor of a batch request: ``model.predict`` on the same rows.

Usage: python inprocess_predict.py MODEL.skops ROWS.json REPEATS
Prints JSON: the median and every timing (seconds per call).
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np
import skops.io as sio


def main() -> None:
    model_path, rows_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    model = sio.load(model_path, trusted=sio.get_untrusted_types(file=model_path))
    spec = json.loads(open(rows_path).read())  # noqa: PTH123, SIM115
    features, rows = spec["features"], spec["rows"]
    x = np.array([[row[f] for f in features] for row in rows], dtype=np.float64)
    model.predict(x)  # warm-up
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict(x)
        timings.append(time.perf_counter() - started)
    print(json.dumps({"median": statistics.median(timings), "timings": timings}))


if __name__ == "__main__":
    main()
