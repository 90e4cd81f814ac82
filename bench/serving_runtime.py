"""Serving runtime: the compiled single-row path against ONNX Runtime, in-process (issue 16 #2).

    .venv/bin/python -m bench.serving_runtime [--rounds 15] [--quick]

For each pipeline training builds (prepare + fit_candidate: ColumnTransformer with numeric
impute/scale and categorical impute/one-hot or ordinal, then the estimator), on two data
shapes (20 numeric features; 6 numeric with nulls + 2 categoricals with nulls):

- single row, as the service runs it from a request's dict: the compiled path
  (``CompiledModel.scores``), ONNX Runtime (feeds built from the dict + ``run``) and sklearn
  (``build_input`` + ``predict_proba``/``predict``, the service's fallback);
- a 1,000-row batch: sklearn (the service's batch path) and ONNX Runtime;
- agreement with the sklearn model on 2,000 rows of the data itself plus rows placed on the
  trees' split thresholds: rows whose answer differs by more than float32 rounding (1e-5
  relative) or whose label differs.

Same thread settings for both: one intra-op and one inter-op thread for ONNX Runtime,
OMP/MKL/OpenBLAS threads 1. Rounds interleave the paths (A B C, A B C, ...) and every number
is per call, min and median over rounds. The machine this ran on was shared with other jobs:
read the ratios and the mins, not the absolute medians.

ONNX Runtime is measured as deployment converts and serves it: this calls
``millrace_deployment.core.onnx_runtime.convert`` (the conversion ``to_onnx`` serves, with the
same converter registration and session options), so the numbers are those of the code that
serves. "ORT" is that conversion with skl2onnx's stock float32 tree values
(``exact_trees=False``); the last column is what deployment serves for gradient boosting:
the model's own float64 thresholds, leaf values and baseline in the tree ensemble (ADR 0009).
Tree thresholds in skl2onnx 1.20's stock graph are float32 whatever the input type: that is
what the agreement column measures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import timeit  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SHAPES = ("numeric20", "mixed")
MODELS: list[tuple[str, str, bool]] = [
    # (task, estimator, one_hot)
    ("classification", "logistic_regression", True),
    ("regression", "ridge", True),
    ("regression", "linear_regression", True),
    ("classification", "hist_gradient_boosting", True),
    ("classification", "hist_gradient_boosting", False),
    ("regression", "hist_gradient_boosting", False),
]


# -- data and models, through training's own code ----------------------------------------------


def frame(shape: str, rows: int, seed: int) -> tuple[pd.DataFrame, list[Any]]:
    from millrace_contracts import FeatureSignature

    rng = np.random.default_rng(seed)
    if shape == "numeric20":
        x = rng.normal(size=(rows, 20))
        data = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(20)])
        signature = [FeatureSignature(name=c, kind="numeric", dtype="float") for c in data.columns]
        score = x @ rng.normal(size=20) + 0.5 * x[:, 0] * x[:, 1]
    else:
        x = rng.normal(size=(rows, 4))
        counts = rng.integers(0, 10, size=(rows, 2)).astype(np.float64)
        counts[rng.random(counts.shape) < 0.06] = np.nan  # integer-valued, nulls imputed
        data = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4"])
        data["n1"], data["n2"] = counts[:, 0], counts[:, 1]
        colour = rng.choice(["red", "green", "blue", "grey"], size=rows).astype(object)
        colour[rng.random(rows) < 0.05] = None
        data["colour"] = colour
        data["flag"] = rng.random(rows) > 0.5
        signature = [
            *(
                FeatureSignature(name=c, kind="numeric", dtype="float")
                for c in ("x1", "x2", "x3", "x4")
            ),
            FeatureSignature(name="n1", kind="numeric", dtype="int", nullable=True),
            FeatureSignature(name="n2", kind="numeric", dtype="int", nullable=True),
            FeatureSignature(
                name="colour",
                kind="categorical",
                dtype="string",
                nullable=True,
                categories=["blue", "green", "grey", "red"],
            ),
            FeatureSignature(
                name="flag", kind="categorical", dtype="bool", categories=["False", "True"]
            ),
        ]
        score = x[:, 0] + x[:, 1] * x[:, 2] + np.nan_to_num(counts[:, 0]) / 5 + (colour == "red")
    data["label"] = np.where(score + rng.normal(size=rows) > 0.5, "yes", "no")
    data["y"] = score * 3 + rng.normal(size=rows)
    return data, signature


def fit(
    data: pd.DataFrame, signature: list[Any], task: str, estimator: str, one_hot: bool
) -> tuple[Any, list[Any]]:
    from millrace_contracts import FeatureSignature, TrainingSpec
    from millrace_training.core.candidate import fit_candidate
    from millrace_training.core.data import prepare
    from millrace_training.core.metrics import scorer_for

    target = "label" if task == "classification" else "y"
    spec = TrainingSpec(
        task=task,  # type: ignore[arg-type]
        target=target,
        features=[f.name for f in signature],
        estimator={"name": estimator},  # type: ignore[arg-type]
        preprocessing={"one_hot": one_hot},  # type: ignore[arg-type]
        seed=0,
    )
    columns = [*signature, FeatureSignature(name=target, kind="categorical", dtype="string")]
    prepared = prepare(data, columns, spec)
    fitted = fit_candidate(
        spec,
        prepared.features,
        prepared.target,
        prepared.numeric,
        prepared.categorical,
        scorer_for(task, None),  # type: ignore[arg-type]
    )
    return fitted.pipeline, prepared.signature


def request_rows(data: pd.DataFrame, signature: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as a JSON client sends them: Python scalars, nulls as None."""
    out = []
    for record in data[[f.name for f in signature]].to_dict("records"):
        out.append(
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()}
        )
    return out


def threshold_rows(
    model: Any, signature: Sequence[Any], base: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows whose numeric value sits on a tree's split threshold, and one ulp either side (in
    the request's units: the scaler is undone)."""
    estimator = model.steps[-1][1]
    predictors = getattr(estimator, "_predictors", None)
    if predictors is None:
        return []
    numeric, _ = _columns(model)
    transformer = next(t for n, t, _ in model.steps[0][1].transformers_ if n == "numeric")
    scaler = dict(transformer.steps).get("scale")
    rows = []
    for trees in predictors[:20]:
        for tree in trees:
            for node in tree.nodes[~tree.nodes["is_leaf"].astype(bool)][:3]:
                j = int(node["feature_idx"])
                if j >= len(numeric):
                    continue
                t = float(node["num_threshold"])
                if scaler is not None:
                    t = t * float(scaler.scale_[j]) + float(scaler.mean_[j])
                for v in (np.nextafter(t, -np.inf), t, np.nextafter(t, np.inf)):
                    rows.append({**base, numeric[j]: float(v)})
    return rows


# -- ONNX ------------------------------------------------------------------------------------


def _columns(model: Any) -> tuple[list[str], list[str]]:
    names = model.millrace_bench_names_
    numeric: list[str] = []
    categorical: list[str] = []
    for label, _, positions in model.steps[0][1].transformers_:
        if label == "numeric":
            numeric = [names[int(p)] for p in positions]
        elif label == "categorical":
            categorical = [names[int(p)] for p in positions]
    return numeric, categorical


@dataclass(frozen=True)
class _Scores:
    """Deployment's ``OnnxModel`` with the bench's call shape: many rows in, scores out."""

    model: Any

    def scores(self, rows: Sequence[dict[str, Any]]) -> np.ndarray[Any, Any]:
        result: np.ndarray[Any, Any] = self.model.scores_many(rows)
        return result


# -- measuring -------------------------------------------------------------------------------


def per_call(fn: Callable[[], Any], calls: int) -> float:
    return min(timeit.repeat(fn, number=calls, repeat=3)) / calls * 1e6


@dataclass
class Row:
    name: str
    compiled: list[float]
    onnx: list[float]
    sklearn: list[float]
    batch_sklearn: list[float]
    batch_onnx: list[float]
    disagree_onnx: int
    disagree_onnx_real: int
    disagree_compiled: int | None
    real: int
    thresholds: int
    max_diff_onnx: float
    exact: list[float]
    disagree_exact: int | None
    max_diff_exact: float


def disagreements(
    got: np.ndarray[Any, Any], expected: np.ndarray[Any, Any], classifier: bool
) -> tuple[int, float]:
    # float32 rounding of leaf values is not counted (ONNX tree ensembles sum in float32);
    # a different label, or a different answer beyond it, is.
    bad = ~np.isclose(got, expected, rtol=1e-5, atol=1e-6).all(axis=1)
    if classifier:
        bad |= got.argmax(axis=1) != expected.argmax(axis=1)
    return int(bad.sum()), float(np.abs(got - expected).max())


def measure(shape: str, task: str, estimator: str, one_hot: bool, rounds: int, quick: bool) -> Row:
    from millrace_deployment.core.compiled import compile_pipeline
    from millrace_deployment.core.onnx_runtime import convert, to_onnx
    from millrace_shared.modelio import input_builder

    data, signature = frame(shape, 4000, seed=1)
    model, signature = fit(data, signature, task, estimator, one_hot)
    model.millrace_bench_names_ = [f.name for f in signature]
    classifier = task == "classification"
    compiled = compile_pipeline(model, signature)  # None for HGB since ADR 0009
    stock = convert(model, signature, exact_trees=False)
    assert stock is not None
    runtime = _Scores(stock)
    # What deployment serves for gradient boosting; nothing to make exact without trees.
    served = to_onnx(model, signature)
    exact = _Scores(served) if served is not None else None
    build = input_builder(signature, model)

    def sk(rows: Sequence[dict[str, Any]]) -> np.ndarray[Any, Any]:
        x = build(rows)
        if classifier:
            return np.asarray(model.predict_proba(x), dtype=np.float64)
        return np.asarray(model.predict(x), dtype=np.float64).reshape(len(rows), 1)

    fresh, _ = frame(shape, 2000, seed=2)
    rows = request_rows(fresh, signature)
    real = len(rows)
    rows += threshold_rows(model, signature, rows[0])
    expected = sk(rows)
    got = np.asarray(runtime.scores(rows), dtype=np.float64).reshape(expected.shape)
    bad_onnx, max_diff = disagreements(got, expected, classifier)
    bad_onnx_real, _ = disagreements(got[:real], expected[:real], classifier)
    bad_compiled = None
    if compiled is not None:
        scored = np.stack([compiled.scores(r) for r in rows])
        bad_compiled, _ = disagreements(scored, expected, classifier)
    bad_exact, max_diff_exact = None, math.nan
    if exact is not None:
        got = np.asarray(exact.scores(rows), dtype=np.float64).reshape(expected.shape)
        bad_exact, max_diff_exact = disagreements(got, expected, classifier)

    single, batch = rows[:256], rows[:1000]
    calls = 50 if quick else 300
    times: dict[str, list[float]] = {k: [] for k in ("c", "o", "e", "s", "bs", "bo")}
    for r in range(rounds):
        one = single[r % len(single)]
        order = [
            ("o", lambda one=one: runtime.scores((one,)), calls),
            ("s", lambda one=one: sk((one,)), max(2, calls // 50)),
            ("bs", lambda: sk(batch), 2),
            ("bo", lambda: runtime.scores(batch), 2),
        ]
        if exact is not None:
            order.insert(1, ("e", lambda one=one: exact.scores((one,)), calls))
        if compiled is not None:
            order.insert(0, ("c", lambda one=one, c=compiled: c.scores(one), calls))
        if r % 2:
            order.reverse()
        for key, fn, n in order:
            t = per_call(fn, n)
            times[key].append(t / 1000 if key.startswith("b") else t)
    name = f"{shape} {estimator}{'' if one_hot else ' (ordinal)'} {task[:5]}"
    return Row(
        name,
        times["c"],
        times["o"],
        times["s"],
        times["bs"],
        times["bo"],
        bad_onnx,
        bad_onnx_real,
        bad_compiled,
        real,
        len(rows) - real,
        max_diff,
        times["e"],
        bad_exact,
        max_diff_exact,
    )


def table(results: list[Row]) -> str:
    def mm(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{min(values):.1f} / {statistics.median(values):.1f}"

    def mm3(values: list[float]) -> str:
        return f"{min(values):.3f} / {statistics.median(values):.3f}"

    lines = [
        "| model | compiled µs/row | ORT µs/row | sklearn µs/row | ORT ÷ compiled (min, median) | compiled ≥ 1.2x faster? | batch sklearn µs/row | batch ORT µs/row | ORT disagrees: data rows / threshold rows | compiled disagrees | ORT max abs diff | ORT, float64 trees: µs/row, disagreeing rows, max abs diff |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.compiled:
            ratio_min = min(r.onnx) / min(r.compiled)
            ratio_med = statistics.median(r.onnx) / statistics.median(r.compiled)
            faster = "yes" if ratio_min >= 1.2 and ratio_med >= 1.2 else "no"
            ratios = f"{ratio_min:.2f}x, {ratio_med:.2f}x | {faster}"
        else:
            ratios = "- | - (no compiled path)"
        lines.append(
            f"| {r.name} | {mm(r.compiled)} | {mm(r.onnx)} | {mm(r.sklearn)} | {ratios} | "
            f"{mm3(r.batch_sklearn)} | {mm3(r.batch_onnx)} | "
            f"{r.disagree_onnx_real} of {r.real} / {r.disagree_onnx - r.disagree_onnx_real} of {r.thresholds} | "
            + (
                f"{r.disagree_compiled} of {r.real + r.thresholds}"
                if r.disagree_compiled is not None
                else "-"
            )
            + f" | {r.max_diff_onnx:.2g} | "
            + (
                f"{mm(r.exact)}, {r.disagree_exact} of {r.real + r.thresholds}, {r.max_diff_exact:.2g} |"
                if r.exact
                else "- |"
            )
        )
    lines.append("")
    lines.append(
        "µs per call, min / median over interleaved rounds (each round: best of 3 repeats)."
    )
    return "\n".join(lines)


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 rounds, few calls, one shape")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    results = []
    for shape in SHAPES[1:] if args.quick else SHAPES:
        for task, estimator, one_hot in MODELS:
            if shape == "numeric20" and not one_hot:
                continue  # no categoricals: the encoder does not matter
            results.append(measure(shape, task, estimator, one_hot, rounds, args.quick))
            print(f"measured {results[-1].name}", flush=True)
    import onnxruntime
    import skl2onnx
    import sklearn

    print(
        f"\nscikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, {rounds} rounds\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
