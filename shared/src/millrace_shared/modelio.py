"""Model artifacts as the platform stores them, and model input built from JSON-like rows.

Artifacts are skops files loaded with an explicit type allow-list: anything else found in one
is refused, because loading it would run code we did not expect. Training writes them,
deployment (and training's champion evaluation) reads them.

Needs the ``ml`` extra (scikit-learn, skops, numpy). Those are imported inside the functions,
so a service without the extra can still import ``millrace_shared``.

Model input: pipelines are fitted on a 2-D array whose columns are the signature's features in
signature order, so serving builds one numpy object array per request, never a DataFrame.
Artifacts fitted on a named DataFrame (they have ``feature_names_in_``) still load: for them
``input_builder`` returns a DataFrame builder, chosen once per model rather than per request.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from millrace_contracts import FeatureSignature

__all__ = [
    "EXPECTED_TYPES",
    "RowsToInput",
    "UntrustedArtifact",
    "check_trusted",
    "dump_model",
    "epoch_seconds",
    "input_builder",
    "is_plain_number",
    "load_model",
    "load_model_file",
    "model_input",
    "reference_rows",
    "takes_feature_names",
    "with_reference_rows",
]

# Types skops does not trust by default but that pipelines built from training's allow-list
# contain.
EXPECTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)

Row = Mapping[str, Any]
RowsToInput = Callable[[Sequence[Row]], Any]
"""Rows (feature name -> JSON scalar) to what the model's ``predict`` takes."""


class UntrustedArtifact(ValueError):
    """A serialized model holds types outside the allow-list; it is not loaded."""


def dump_model(model: Any) -> bytes:
    import skops.io as sio

    return bytes(sio.dumps(model))


def check_trusted(data: bytes, expected: frozenset[str] = EXPECTED_TYPES) -> list[str]:
    """Raise ``UntrustedArtifact`` as ``load_model`` would; else the types to trust."""
    import skops.io as sio

    found: list[str] = sio.get_untrusted_types(data=data)
    _refuse_unexpected(found, expected)
    return found


def load_model(data: bytes, expected: frozenset[str] = EXPECTED_TYPES) -> Any:
    """Load a skops artifact, trusting only the types it holds that are in ``expected``."""
    import skops.io as sio

    return sio.loads(data, trusted=sorted(check_trusted(data, expected)))


def load_model_file(path: Path, expected: frozenset[str] = EXPECTED_TYPES) -> Any:
    """``load_model`` from a file, without holding its bytes twice."""
    import skops.io as sio

    found = sio.get_untrusted_types(file=path)
    _refuse_unexpected(found, expected)
    return sio.load(path, trusted=sorted(found))


def _refuse_unexpected(found: Sequence[str], expected: frozenset[str]) -> None:
    unexpected = sorted(set(found) - expected)
    if unexpected:
        raise UntrustedArtifact(f"artifact holds unexpected type(s): {', '.join(unexpected)}")


REFERENCE_ROWS_ATTRIBUTE = "millrace_reference_rows_"
"""Where training keeps a sample of the dataset's rows on the fitted pipeline: inside the
signed artifact, so deployment checks its serving path on the real distribution without a
second object to trust (ADR 0009)."""

REFERENCE_ROWS = 64


def with_reference_rows(
    model: Any, features: Any, signature: Sequence[FeatureSignature], seed: int
) -> Any:
    """Keep up to ``REFERENCE_ROWS`` rows of ``features`` (the model's positional input, a
    DataFrame in signature order) on ``model``, as JSON rows: Python scalars, nulls as None.
    Plain lists and dicts of scalars, which skops stores without new trusted types."""
    import numpy as np

    count = min(REFERENCE_ROWS, len(features))
    picked = np.random.default_rng(seed).choice(len(features), size=count, replace=False)
    names = [f.name for f in signature]
    rows: list[dict[str, Any]] = []
    for values in features.iloc[np.sort(picked)].itertuples(index=False, name=None):
        rows.append({name: _json_scalar(v) for name, v in zip(names, values, strict=True)})
    setattr(model, REFERENCE_ROWS_ATTRIBUTE, rows)
    return model


def _json_scalar(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def reference_rows(model: Any) -> list[dict[str, Any]]:
    """The rows training kept on ``model``; none for artifacts older than that."""
    rows = getattr(model, REFERENCE_ROWS_ATTRIBUTE, None)
    if not isinstance(rows, list):
        return []
    return [row for row in rows if isinstance(row, dict)]


def takes_feature_names(model: Any) -> bool:
    """Fitted on a named DataFrame (artifacts older than positional pipelines)."""
    return hasattr(model, "feature_names_in_")


def epoch_seconds(value: Any) -> Any:
    """An ISO-8601 string as seconds since the epoch (UTC when it has no offset), as training
    turns datetime columns into numbers; any other value unchanged."""
    if not isinstance(value, str):
        return value
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def is_plain_number(feature: FeatureSignature) -> bool:
    """A numeric feature taking JSON numbers as they are (not a datetime, not a boolean)."""
    return feature.kind == "numeric" and feature.dtype in ("int", "float")


def input_builder(signature: Sequence[FeatureSignature], model: Any) -> RowsToInput:
    """The function turning rows into this model's input; decide once, call per request."""
    if takes_feature_names(model):
        return _frame_builder(signature, [str(n) for n in model.feature_names_in_])
    return _array_builder(signature)


def model_input(rows: Sequence[Row], signature: Sequence[FeatureSignature], model: Any) -> Any:
    """The model's input for ``rows``: columns ordered as the signature, nulls as NaN."""
    return input_builder(signature, model)(rows)


def _array_builder(signature: Sequence[FeatureSignature]) -> RowsToInput:
    import numpy as np

    names = tuple(f.name for f in signature)
    dates = tuple(i for i, f in enumerate(signature) if f.dtype == "datetime")
    nan = math.nan

    def build(rows: Sequence[Row]) -> Any:
        # NaN, not None: the imputers' missing marker, and what training's data holds.
        values = [[nan if (v := row.get(n)) is None else v for n in names] for row in rows]
        out = np.array(values, dtype=object).reshape(len(values), len(names))
        for j in dates:
            out[:, j] = [epoch_seconds(v) for v in out[:, j]]
        return out

    if not names or not all(map(is_plain_number, signature)):
        return build
    pick = operator.itemgetter(*names)
    single = len(names) == 1

    def build_numeric(rows: Sequence[Row]) -> Any:
        # All-numeric models take a float array as they would the object one (the imputer and
        # scaler convert it anyway), built in C by itemgetter; None becomes NaN in a float
        # array. A row missing a feature takes the general path.
        try:
            picked = [(pick(row),) for row in rows] if single else [pick(row) for row in rows]
            return np.array(picked, dtype=np.float64).reshape(len(rows), len(names))
        except (KeyError, TypeError, ValueError):
            return build(rows)

    return build_numeric


def _frame_builder(signature: Sequence[FeatureSignature], order: Sequence[str]) -> RowsToInput:
    import pandas as pd  # only artifacts fitted on DataFrames need it

    by_name = {f.name: f for f in signature}
    missing = [n for n in order if n not in by_name]
    if missing:
        raise ValueError(f"model input(s) not in the signature: {', '.join(missing)}")
    nan = math.nan

    def build(rows: Sequence[Row]) -> Any:
        columns: dict[str, Any] = {}
        for name in order:  # sklearn insists on the fit's column order
            values = [nan if (v := row.get(name)) is None else v for row in rows]
            if by_name[name].kind == "numeric":
                columns[name] = pd.Series([epoch_seconds(v) for v in values], dtype="float64")
            else:
                columns[name] = pd.Series(values, dtype=object)
        return pd.DataFrame(columns)

    return build
