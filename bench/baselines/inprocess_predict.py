"""A baseline's in-process cost per call, without HTTP: the same code its server runs after
parsing JSON (dict rows -> array -> ``predict`` or ONNX Runtime's ``run``), for one row and
for the batch, in a process pinned like the servers. It makes a slow baseline visible.

Usage: python inprocess_predict.py ROWS.json REPEATS MODEL.skops [MODEL.skops ...]
Prints JSON: per model and runtime (``sklearn``, ``onnx``), seconds per call, median and every
timing, for ``single`` and ``batch``. One process for all (each runtime has one thread).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from onnx_convert import load, session

RUNTIMES = ("sklearn", "onnx")
SINGLE_CALLS = 50
"""Single-row calls per timing (one call is too short to time alone)."""


def predictor(runtime: str, model_path: str, features: list[str]) -> Callable[[Any], Any]:
    if runtime == "onnx":
        onnx = session(model_path, len(features))
        label = onnx.get_outputs()[0].name

        def run(rows: list[dict[str, float]]) -> Any:
            x = np.array([[row[f] for f in features] for row in rows], dtype=np.float32)
            return onnx.run([label], {"x": x})[0]

        return run
    model = load(model_path)

    def predict(rows: list[dict[str, float]]) -> Any:
        x = np.array([[row[f] for f in features] for row in rows], dtype=np.float64)
        return model.predict(x)

    return predict


def timed(fn: Callable[[], Any], repeats: int, calls: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - started) / calls)
    return out


def main() -> None:
    rows_path, repeats, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    spec = json.loads(open(rows_path).read())  # noqa: PTH123, SIM115
    features, rows = spec["features"], spec["rows"]
    out: dict[str, dict[str, Any]] = {}
    for model_path in models:
        for runtime in RUNTIMES:
            run = predictor(runtime, model_path, features)
            single = timed(lambda run=run: run(rows[:1]), repeats, SINGLE_CALLS)
            batch = timed(lambda run=run: run(rows), repeats, 1)
            out.setdefault(model_path, {})[runtime] = {
                "single": {"median": statistics.median(single), "timings": single},
                "batch": {"median": statistics.median(batch), "timings": batch},
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
