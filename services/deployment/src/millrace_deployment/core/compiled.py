"""The single-row fast path for linear models, and the rows every fast path is checked on.

One row through a fitted sklearn ``Pipeline`` costs milliseconds, almost none of it
arithmetic: every step re-validates its input, looks up estimator tags and wraps outputs. For
a single row the same arithmetic takes microseconds with a handful of numpy operations on the
fitted attributes (imputer statistics, scaler moments, encoder categories, coefficients).

``compile_pipeline`` understands exactly the pipelines ``pipeline_builder`` produces
(``ColumnTransformer`` of numeric impute/scale and categorical impute/encode, then a logistic,
linear or ridge model) and returns None for anything else. Gradient boosting goes through ONNX
Runtime instead (``onnx_runtime.py``). ADR 0009 measured both (``bench/serving_runtime.py``):
this path is 2-4x faster than ONNX Runtime on linear models, and 2-3.5x slower on gradient
boosting, whose hand-written tree walk was removed.

A fast path, this one or ONNX Runtime, is only used after ``disagreeing_rows`` has compared
it with the model's own answers. The rows are the dataset's own (kept in the artifact by
training), generated ones (nulls, unknown categories) and rows on the trees' split thresholds,
one ulp either side included (``threshold_rows``). A mismatch means the model is served the
slow way, loudly, never that it answers differently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Protocol

import numpy as np
from millrace_contracts import FeatureSignature

from .rows import NumberRows

Row = Mapping[str, Any]
Vector = np.ndarray[Any, np.dtype[np.float64]]
Matrix = np.ndarray[Any, np.dtype[np.float64]]
"""Rows by columns: a batch's inputs, or its scores."""
Part = tuple[Callable[[Row], Vector], Callable[[Sequence[Row]], Matrix]]
"""A preprocessing step for one row, and the same arithmetic for a batch at once."""

AGREEMENT_ROWS = 64
UNKNOWN_CATEGORY = "\x00millrace-unknown-category"


class _NotCompilable(Exception):
    """A step or setting this module does not reproduce: serve with the model itself."""


class FastPath(Protocol):
    """A single-row path serving may use instead of the model: this module's or ONNX
    Runtime's (``onnx_runtime.py``), each held to its own tolerance at load."""

    @property
    def classifier(self) -> bool: ...

    @property
    def rtol(self) -> float: ...

    @property
    def atol(self) -> float: ...

    @property
    def one_kernel(self) -> bool:
        """Whether single rows and batches go through the same computation (so a check of
        every row in one batch covers them one at a time too, up to a sample)."""
        ...

    def scores(self, row: Row) -> Vector: ...

    def scores_many(self, rows: Sequence[Row]) -> Matrix:
        """``scores`` of each row, one row of the result per row: batches in one call."""
        ...


@dataclass(frozen=True)
class CompiledModel:
    """``scores(row)`` gives class probabilities (classifiers) or the prediction (regressors);
    ``scores_many(rows)`` the same for a batch, with matrix operations instead of a loop."""

    preprocess: Callable[[Row], Vector]
    estimate: Callable[[Vector], Vector]
    classifier: bool
    rtol: float = 1e-9
    atol: float = 1e-12
    """The same float64 arithmetic as the model's: agreement to rounding."""
    preprocess_many: Callable[[Sequence[Row]], Matrix] | None = None
    estimate_many: Callable[[Matrix], Matrix] | None = None
    one_kernel: bool = False
    """``scores_many`` is matrix code of its own, not ``scores`` in a loop."""

    def scores(self, row: Row) -> Vector:
        return self.estimate(self.preprocess(row))

    def scores_many(self, rows: Sequence[Row]) -> Matrix:
        if self.preprocess_many is None or self.estimate_many is None:
            return np.stack([self.scores(row) for row in rows])
        return self.estimate_many(self.preprocess_many(rows))


def compile_pipeline(model: Any, signature: Sequence[FeatureSignature]) -> CompiledModel | None:
    try:
        steps = getattr(model, "steps", None)
        if not steps or len(steps) != 2:
            raise _NotCompilable("not a preprocess + estimator pipeline")
        preprocess, preprocess_many = _compile_columns(steps[0][1], [f.name for f in signature])
        estimator = steps[1][1]
        estimate, estimate_many, classifier = _compile_estimator(estimator)
    except _NotCompilable:
        return None
    return CompiledModel(
        preprocess=preprocess,
        estimate=estimate,
        classifier=classifier,
        preprocess_many=preprocess_many,
        estimate_many=estimate_many,
    )


# -- preprocessing ----------------------------------------------------------------------------


def _compile_columns(columns: Any, names: Sequence[str]) -> Part:
    if type(columns).__name__ != "ColumnTransformer" or not hasattr(columns, "transformers_"):
        raise _NotCompilable("first step is not a fitted ColumnTransformer")
    parts: list[Part] = []
    for label, transformer, positions in columns.transformers_:
        if label == "remainder":
            if transformer != "drop":
                raise _NotCompilable("remainder columns are passed through")
            continue
        if transformer == "drop" or len(positions) == 0:
            continue
        if not isinstance(positions, list | tuple | np.ndarray) or not all(
            isinstance(p, int | np.integer) for p in positions
        ):
            raise _NotCompilable("columns not selected by position")
        selected = [names[int(p)] for p in positions]
        steps = [step for _, step in getattr(transformer, "steps", [])]
        if not steps or type(steps[0]).__name__ != "SimpleImputer":
            raise _NotCompilable(f"{label}: not imputer-first")
        if label == "numeric":
            parts.append(_numeric_part(selected, steps))
        elif label == "categorical":
            parts.append(_categorical_part(selected, steps))
        else:
            raise _NotCompilable(f"unknown transformer {label!r}")
    if len(parts) == 1:
        return parts[0]
    ones = [one for one, _ in parts]
    manys = [many for _, many in parts]
    return (
        lambda row: np.concatenate([one(row) for one in ones]),
        lambda rows: np.hstack([many(rows) for many in manys]),
    )


def _imputer_statistics(imputer: Any) -> Any:
    if getattr(imputer, "add_indicator", False):
        raise _NotCompilable("imputer adds indicator columns")
    missing = imputer.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise _NotCompilable("imputer's missing marker is not NaN")
    return imputer.statistics_


def _numeric_part(names: Sequence[str], steps: Sequence[Any]) -> Part:
    statistics = np.asarray(_imputer_statistics(steps[0]), dtype=np.float64)
    if np.isnan(statistics).any():
        raise _NotCompilable("a column was empty at fit time (the imputer drops it)")
    mean: Vector | None = None
    scale: Vector | None = None
    for step in steps[1:]:
        if type(step).__name__ != "StandardScaler":
            raise _NotCompilable(f"numeric step {type(step).__name__}")
        if step.mean_ is not None:
            mean = np.asarray(step.mean_, dtype=np.float64)
        if step.scale_ is not None:
            scale = np.asarray(step.scale_, dtype=np.float64)
    names = tuple(names)
    nan = math.nan

    def numeric(row: Row) -> Vector:
        x = np.array([nan if (v := row.get(n)) is None else v for n in names], dtype=np.float64)
        x = np.where(np.isnan(x), statistics, x)
        if mean is not None:
            x -= mean
        if scale is not None:
            x /= scale
        return x

    def numeric_many(rows: Sequence[Row]) -> Matrix:
        x = number_matrix(rows, names)
        x = np.where(np.isnan(x), statistics, x)
        if mean is not None:
            x -= mean
        if scale is not None:
            x /= scale
        return x

    return numeric, numeric_many


def number_matrix(rows: Sequence[Row], names: Sequence[str]) -> Matrix:
    """The rows' ``names`` as a float64 matrix, nulls (and absent keys) as NaN. itemgetter
    picks a row's values in C, and numpy turns None into NaN in a float array. Validated
    ``NumberRows`` have the matrix already: its columns are taken instead."""
    if isinstance(rows, NumberRows):
        columns = rows.columns_of(tuple(names))
        if columns is not None:
            return columns
    pick = itemgetter(*names)
    try:
        if len(names) == 1:
            picked: list[Any] = [(pick(row),) for row in rows]
        else:
            picked = [pick(row) for row in rows]
        return np.array(picked, dtype=np.float64).reshape(len(rows), len(names))
    except (KeyError, TypeError, ValueError):
        nan = math.nan
        values = [[nan if (v := row.get(n)) is None else v for n in names] for row in rows]
        return np.array(values, dtype=np.float64).reshape(len(rows), len(names))


def _categorical_part(names: Sequence[str], steps: Sequence[Any]) -> Part:
    fill = list(_imputer_statistics(steps[0]))
    if len(steps) != 2:
        raise _NotCompilable("categorical part is not impute + encode")
    encoder = steps[1]
    kind = type(encoder).__name__
    categories = [list(c) for c in encoder.categories_]
    index = [{value: i for i, value in enumerate(c)} for c in categories]
    names = tuple(names)
    if kind == "OneHotEncoder":
        if (
            encoder.drop is not None
            or encoder.handle_unknown != "ignore"
            or getattr(encoder, "_infrequent_enabled", False)
        ):
            raise _NotCompilable("one-hot encoder with drop, errors or infrequent categories")
        offsets = np.cumsum([0, *(len(c) for c in categories)])
        width = int(offsets[-1])

        def one_hot(row: Row) -> Vector:
            out = np.zeros(width, dtype=np.float64)
            for j, name in enumerate(names):
                value = row.get(name)
                at = index[j].get(fill[j] if value is None else value)
                if at is not None:
                    out[offsets[j] + at] = 1.0
            return out

        def one_hot_many(rows: Sequence[Row]) -> Matrix:
            out = np.zeros((len(rows), width), dtype=np.float64)
            for j, name in enumerate(names):
                lookup, missing = index[j], fill[j]
                at = [lookup.get(missing if (v := row.get(name)) is None else v) for row in rows]
                hits = [(r, offsets[j] + a) for r, a in enumerate(at) if a is not None]
                if hits:
                    where = np.array(hits, dtype=np.intp)
                    out[where[:, 0], where[:, 1]] = 1.0
            return out

        return one_hot, one_hot_many
    if kind == "OrdinalEncoder":
        if encoder.handle_unknown != "use_encoded_value" or getattr(
            encoder, "_infrequent_enabled", False
        ):
            raise _NotCompilable("ordinal encoder without an unknown value")
        unknown = float(encoder.unknown_value)

        def ordinal(row: Row) -> Vector:
            return np.array(
                [
                    float(index[j].get(fill[j] if (v := row.get(n)) is None else v, unknown))
                    for j, n in enumerate(names)
                ],
                dtype=np.float64,
            )

        def ordinal_many(rows: Sequence[Row]) -> Matrix:
            return np.array([ordinal(row) for row in rows], dtype=np.float64).reshape(
                len(rows), len(names)
            )

        return ordinal, ordinal_many
    raise _NotCompilable(f"categorical encoder {kind}")


# -- estimators -------------------------------------------------------------------------------


Estimate = tuple[Callable[[Vector], Vector], Callable[[Matrix], Matrix], bool]
"""One row's scores, a batch's (a row of scores per row), and whether it is a classifier."""


def _compile_estimator(estimator: Any) -> Estimate:
    kind = type(estimator).__name__
    if kind in ("LogisticRegression", "Ridge", "LinearRegression"):
        return _linear(estimator, classifier=kind == "LogisticRegression")
    raise _NotCompilable(f"estimator {kind}")


def _linear(estimator: Any, *, classifier: bool) -> Estimate:
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)
    if not classifier:
        if coef.ndim != 1:
            raise _NotCompilable("multi-output regression")
        return (
            (lambda x: np.atleast_1d(coef @ x + intercept)),
            (lambda x: (x @ coef + intercept).reshape(-1, 1)),
            False,
        )
    from scipy.special import expit, softmax

    if len(estimator.classes_) <= 2:

        def binary(x: Vector) -> Vector:
            p = expit(coef[0] @ x + intercept[0])
            return np.array([1.0 - p, p])

        def binary_many(x: Matrix) -> Matrix:
            p = expit(x @ coef[0] + intercept[0])
            return np.column_stack([1.0 - p, p])

        return binary, binary_many, True
    return (
        (lambda x: softmax(coef @ x + intercept)),
        (lambda x: softmax(x @ coef.T + intercept, axis=1)),
        True,
    )


# -- agreement --------------------------------------------------------------------------------


def agreement_rows(
    signature: Sequence[FeatureSignature], model: Any, count: int = AGREEMENT_ROWS, seed: int = 0
) -> list[dict[str, Any]]:
    """Rows to compare both paths on: numeric values spread around what the model saw
    (from the scaler's moments when there is one), nulls for nullable features, every known
    category and an unknown one."""
    rng = np.random.default_rng(seed)
    centre, spread = _numeric_scale(model, signature)
    categories = _known_categories(model, signature)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        row: dict[str, Any] = {}
        for feature in signature:
            name = feature.name
            if feature.nullable and i % 7 == 3:
                row[name] = None
            elif name in categories:
                known = categories[name]
                row[name] = UNKNOWN_CATEGORY if i % 11 == 5 else known[i % len(known)]
            elif feature.dtype == "bool":
                row[name] = bool(i % 2)
            else:
                row[name] = float(centre.get(name, 0.0) + spread.get(name, 1.0) * rng.normal() * 2)
        rows.append(row)
    return rows


def _fitted_part(
    model: Any, signature: Sequence[FeatureSignature], label: str
) -> tuple[Any, list[str]] | None:
    """The fitted transformer of the preprocessing part ``label`` and the features it reads."""
    try:
        for name, transformer, positions in model.steps[0][1].transformers_:
            if name == label:
                return transformer, [signature[int(p)].name for p in positions]
    except (AttributeError, IndexError, TypeError):
        pass
    return None


def _numeric_scale(
    model: Any, signature: Sequence[FeatureSignature]
) -> tuple[dict[str, float], dict[str, float]]:
    centre: dict[str, float] = {}
    spread: dict[str, float] = {}
    part = _fitted_part(model, signature, "numeric")
    if part is None:
        return centre, spread
    transformer, names = part
    imputer, *scalers = [step for _, step in transformer.steps]  # as compiling checked
    scale = scalers[0].scale_ if scalers else None
    for j, name in enumerate(names):
        centre[name] = float(imputer.statistics_[j])
        if scale is not None:
            spread[name] = float(scale[j])
    return centre, spread


def _known_categories(model: Any, signature: Sequence[FeatureSignature]) -> dict[str, list[Any]]:
    part = _fitted_part(model, signature, "categorical")
    if part is None:
        return {}
    transformer, names = part
    encoder = transformer.steps[-1][1]
    return {name: list(encoder.categories_[j]) for j, name in enumerate(names)}


def threshold_rows(
    signature: Sequence[FeatureSignature],
    model: Any,
    base: Row,
    per_tree: int = 2,
    limit: int = 256,
) -> list[dict[str, Any]]:
    """``base`` with one numeric feature set on a split threshold of the trees, and one ulp
    below and above it, in the request's units (the scaler undone): where a path computing
    the scaled value or comparing it the slightest bit differently takes the other branch.
    None for models without trees; at most ``limit`` thresholds."""
    estimator = model.steps[-1][1] if getattr(model, "steps", None) else None
    predictors = getattr(estimator, "_predictors", None)
    part = _fitted_part(model, signature, "numeric")
    if predictors is None or part is None:
        return []
    transformer, names = part
    scalers = [step for _, step in transformer.steps[1:]]
    mean = scalers[0].mean_ if scalers and scalers[0].mean_ is not None else None
    scale = scalers[0].scale_ if scalers and scalers[0].scale_ is not None else None
    rows: list[dict[str, Any]] = []
    for trees in predictors:
        for tree in trees:
            nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool)][:per_tree]
            for node in nodes:
                j = int(node["feature_idx"])
                if j >= len(names):  # an encoded categorical column
                    continue
                t = float(node["num_threshold"])
                if scale is not None:
                    t *= float(scale[j])
                if mean is not None:
                    t += float(mean[j])
                for value in (np.nextafter(t, -np.inf), t, np.nextafter(t, np.inf)):
                    rows.append({**base, names[j]: float(value)})
                if len(rows) >= 3 * limit:
                    return rows
    return rows


def disagreeing_rows(
    compiled: FastPath, model: Any, rows: Sequence[Row], build_input: Callable[..., Any]
) -> int:
    """Rows (of ``rows``) whose probabilities (or predictions) differ from the model's own
    beyond the path's tolerance, or with another label: 0 when it agrees everywhere. Every row when the
    fast path fails on any of them."""
    try:
        x = build_input(rows)
        if compiled.classifier:
            expected = np.asarray(model.predict_proba(x), dtype=np.float64)
        else:
            expected = np.asarray(model.predict(x), dtype=np.float64).reshape(len(rows), -1)
        answers = _answers(compiled, rows)
    except Exception:  # any failure of the fast path on valid rows disqualifies it
        return len(rows)
    wrong = np.zeros(len(rows), dtype=bool)
    for got in answers:
        if got.shape != expected[: len(got)].shape:
            return len(rows)
        part = wrong[: len(got)]
        part |= ~np.isclose(got, expected[: len(got)], rtol=compiled.rtol, atol=compiled.atol).all(
            axis=1
        )
        if compiled.classifier:  # within tolerance but another label is still wrong
            part |= got.argmax(axis=1) != expected[: len(got)].argmax(axis=1)
    return int(wrong.sum())


SINGLE_ROWS_CHECKED = 128
"""Rows a path that also answers many rows at once still answers one at a time in the check:
more than the reference and generated rows ``check_rows`` puts first."""


def _answers(path: FastPath, rows: Sequence[Row]) -> list[Vector]:
    """The path's answers to ``rows``, each array for a prefix of them: every row in one
    ``scores_many`` call, as batches ask, and one at a time, as single rows ask. ONNX Runtime
    answers only its first ``SINGLE_ROWS_CHECKED`` rows singly as well: a session call costs
    ~0.25 ms whatever its rows, so hundreds of threshold rows singly took most of the check,
    and the same graph and kernels answer a row alike in a batch (each row's trees are summed
    in the same order; bit-identical on the bench's 100-tree model). The compiled path's
    single-row code is not its matrix code, so it answers every row both ways."""
    single = rows[:SINGLE_ROWS_CHECKED] if path.one_kernel else rows
    return [
        np.asarray(path.scores_many(rows), dtype=np.float64),
        np.stack([path.scores(row) for row in single]),
    ]
