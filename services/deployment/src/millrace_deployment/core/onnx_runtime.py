"""Gradient boosting single rows through ONNX Runtime, on a graph exact at the splits (ADR 0009).

The fitted pipeline (``ColumnTransformer`` of numeric impute/scale and categorical
impute/encode, then a ``HistGradientBoosting*``) is converted at load by skl2onnx from the
verified skops model: no second artifact to sign, and artifacts older than this convert too.
What serving needs beyond skl2onnx's stock conversion, each for a measured reason
(``bench/serving_runtime.py``):

- numeric input is float64 (float32 would round values before the scaler), and the numeric
  imputer becomes IsNaN + Where: ONNX Runtime has no float64 ``Imputer`` kernel;
- categoricals are fed as int64 category indices, looked up in Python in the encoder's own
  categories (sklearn's object equality; unknown -1, null the imputer's fill): string tensors
  cannot carry the bool/int categories training fits, and skl2onnx refuses a string imputer
  whose missing marker is NaN;
- skl2onnx 1.20 writes tree thresholds, leaf values and the baseline as float32 whatever the
  input: rows next to a split then take the other branch. They are replaced by the model's
  own float64 values (ai.onnx.ml 3's ``*_as_tensor`` attributes). The op's output stays
  float32, so answers agree with the model to float32 rounding (checked at load, with
  labels exactly);
- skl2onnx 1.20's tree converters put a Python bool in an int attribute, which protobuf 7
  refuses: bools become ints while converting.

``to_onnx`` returns None for any other model. A gradient boosting pipeline it cannot convert
raises ``NotConvertible``: serving falls back to the model itself, loudly.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from millrace_contracts import FeatureSignature
from millrace_shared.modelio import REFERENCE_ROWS_ATTRIBUTE
from sklearn.base import BaseEstimator, TransformerMixin, is_classifier

from .compiled import number_matrix

Row = Mapping[str, Any]
Vector = np.ndarray[Any, np.dtype[np.float64]]

RTOL, ATOL = 1e-6, 1e-7
"""Agreement the check at load asks of this runtime: float32 rounding of the op's output."""

_converting = threading.Lock()
"""skl2onnx's registry and the bool shim are process-wide: one conversion at a time."""


class NotConvertible(Exception):
    """A model this module should serve, which it could not convert (a converter gap)."""


@dataclass(frozen=True)
class OnnxModel:
    """``scores(row)`` gives class probabilities (classifiers) or the prediction (regressors),
    like ``CompiledModel.scores``."""

    session: Any = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[tuple[str, dict[Any, int], int], ...] = ()
    """(feature, category -> index, index of the imputer's fill) per categorical feature."""
    output: tuple[str, ...] = ()
    classifier: bool = False
    rtol: float = RTOL
    atol: float = ATOL
    one_kernel: bool = True
    """One session graph answers a row alike alone or in a batch."""

    def feeds(self, rows: Sequence[Row]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.numeric:
            out["numeric"] = number_matrix(rows, self.numeric)
        if self.categorical:
            pairs = self.categorical
            out["categorical"] = np.array(
                [
                    [f if (v := row.get(n)) is None else i.get(v, -1) for n, i, f in pairs]
                    for row in rows
                ],
                dtype=np.int64,
            )
        return out

    def scores_many(self, rows: Sequence[Row]) -> Vector:
        result = self.session.run(list(self.output), self.feeds(rows))[0]
        out: Vector = np.asarray(result, dtype=np.float64).reshape(len(rows), -1)
        return out

    def scores(self, row: Row) -> Vector:
        out: Vector = self.scores_many((row,))[0]
        return out


class _NanFill(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """The numeric imputer as the graph gets it: NaN -> the imputer's statistics."""

    def __init__(self, statistics: Vector | None = None) -> None:
        self.statistics = statistics


def _nan_fill_shape(operator: Any) -> None:
    operator.outputs[0].type = operator.inputs[0].type.__class__(operator.inputs[0].type.shape)


def _nan_fill_convert(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.proto import onnx_proto

    x = operator.inputs[0].full_name
    fill = scope.get_unique_variable_name("fill")
    values = [float(v) for v in operator.raw_operator.statistics]
    container.add_initializer(fill, onnx_proto.TensorProto.DOUBLE, [1, len(values)], values)
    missing = scope.get_unique_variable_name("missing")
    container.add_node("IsNaN", [x], [missing], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Where",
        [missing, fill, x],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Where"),
    )


@contextmanager
def _skl2onnx() -> Iterator[None]:
    import onnx.helper
    import skl2onnx.common._container as container_module
    from skl2onnx import update_registered_converter

    with _converting:
        update_registered_converter(_NanFill, "MillraceNanFill", _nan_fill_shape, _nan_fill_convert)
        make_node: Callable[..., Any] = onnx.helper.make_node

        def ints_not_bools(*args: Any, **kwargs: Any) -> Any:
            for key, value in kwargs.items():
                if isinstance(value, list):
                    kwargs[key] = [int(v) if isinstance(v, bool | np.bool_) else v for v in value]
            return make_node(*args, **kwargs)

        container_module.make_node = ints_not_bools
        try:
            yield
        finally:
            container_module.make_node = make_node


def _parts(model: Any, names: Sequence[str]) -> tuple[Any, Any, list[str], list[str]] | None:
    """The numeric and categorical transformers and the features each reads, if the
    pipeline is the positional, numeric-then-categorical one training builds."""
    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2:
        return None
    columns = steps[0][1]
    if type(columns).__name__ != "ColumnTransformer" or not hasattr(columns, "transformers_"):
        return None
    numeric = categorical = None
    numeric_names: list[str] = []
    categorical_names: list[str] = []
    at = 0
    for label, transformer, positions in columns.transformers_:
        if label == "remainder":
            if transformer != "drop":
                return None
            continue
        if transformer == "drop" or len(positions) == 0:
            continue
        if list(positions) != list(range(at, at + len(positions))):
            return None  # the inputs below are consecutive column blocks
        at += len(positions)
        selected = [names[int(p)] for p in positions]
        if label == "numeric":
            numeric, numeric_names = transformer, selected
        elif label == "categorical":
            categorical, categorical_names = transformer, selected
        else:
            return None
    if categorical is not None and numeric is not None and not numeric_names:
        return None
    return numeric, categorical, numeric_names, categorical_names


def to_onnx(model: Any, signature: Sequence[FeatureSignature]) -> OnnxModel | None:
    """The model as an ONNX Runtime session; None when it is not a gradient boosting pipeline
    of the kind training builds. Raises ``NotConvertible`` when it is but conversion fails."""
    estimator: Any = model.steps[-1][1] if getattr(model, "steps", None) else None
    if getattr(estimator, "_predictors", None) is None:
        return None
    native = getattr(estimator, "is_categorical_", None)
    if native is not None and np.any(native):
        return None  # native categorical splits: not what training builds
    return convert(model, signature)


def convert(
    model: Any, signature: Sequence[FeatureSignature], *, exact_trees: bool = True
) -> OnnxModel | None:
    """Any pipeline training builds as an ONNX Runtime session, converted as ``to_onnx`` does
    (which serves it only for gradient boosting). ``exact_trees=False`` keeps skl2onnx's
    float32 tree values: ``bench/serving_runtime.py`` measures both. None when the pipeline
    is not of the kind training builds; ``NotConvertible`` when conversion fails."""
    parts = _parts(model, [f.name for f in signature])
    if parts is None:
        return None
    try:
        return _convert(model, *parts, exact_trees=exact_trees)
    except Exception as error:  # any converter gap; the caller says so and serves the model
        raise NotConvertible(f"{type(error).__name__}: {error}"[:300]) from error


def _convert(
    model: Any,
    numeric: Any,
    categorical: Any,
    numeric_names: list[str],
    categorical_names: list[str],
    *,
    exact_trees: bool = True,
) -> OnnxModel:
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType

    classifier = is_classifier(model.steps[-1][1])
    copied = copy.deepcopy(model)
    # The reference rows training keeps on the pipeline are not part of the graph, and
    # skl2onnx walks every public attribute ending in "_" (dir() on each of the rows' 1,000+
    # values, twice, to resolve options): two thirds of a 100-tree conversion.
    vars(copied).pop(REFERENCE_ROWS_ATTRIBUTE, None)
    lookups: list[tuple[str, dict[Any, int], int]] = []
    for label, transformer, _ in copied.steps[0][1].transformers_:
        if label == "numeric":
            imputer = transformer.steps[0][1]
            if getattr(imputer, "add_indicator", False):
                raise ValueError("imputer adds indicator columns")
            statistics = np.asarray(imputer.statistics_, dtype=np.float64)
            transformer.steps[0] = ("impute", _NanFill(statistics))
        elif label == "categorical":
            imputer, encoder = transformer.steps[0][1], transformer.steps[1][1]
            index = [{v: i for i, v in enumerate(c)} for c in encoder.categories_]
            for j, name in enumerate(categorical_names):
                lookups.append((name, index[j], index[j][imputer.statistics_[j]]))
            encoder.categories_ = [np.arange(len(c), dtype=np.int64) for c in encoder.categories_]
            transformer.steps = [transformer.steps[1]]  # nulls become the fill's index
    inputs = []
    if numeric_names:
        inputs.append(("numeric", DoubleTensorType([None, len(numeric_names)])))
    if categorical_names:
        inputs.append(("categorical", Int64TensorType([None, len(categorical_names)])))
    with _skl2onnx():
        graph = convert_sklearn(
            copied,
            initial_types=inputs,
            target_opset={"": 18, "ai.onnx.ml": 3},
            options={"zipmap": False} if classifier else None,
        )
    _float64_trees(graph, model.steps[-1][1], classifier, exact=exact_trees)
    options = ort.SessionOptions()
    # One thread each: a request is one row, and the replica's other work needs the CPU.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    outputs = [o.name for o in session.get_outputs()]
    return OnnxModel(
        session=session,
        numeric=tuple(numeric_names),
        categorical=tuple(lookups),
        output=(outputs[1 if classifier else 0],),
        classifier=classifier,
    )


def _float64_trees(graph: Any, estimator: Any, classifier: bool, *, exact: bool = True) -> None:
    """The model's own float64 thresholds, leaf values and baseline in the tree ensemble,
    instead of skl2onnx's float32 ones (unless not ``exact``); a Cast back to float64 after
    it. Nothing to do for a graph without a tree ensemble."""
    from onnx import TensorProto, helper

    predictors = getattr(estimator, "_predictors", None) or []
    flat = [tree for trees in predictors for tree in trees]  # skl2onnx's tree ids
    weights = "class" if classifier else "target"
    nodes = []
    for node in graph.graph.node:
        nodes.append(node)
        if node.op_type not in ("TreeEnsembleClassifier", "TreeEnsembleRegressor"):
            continue
        if exact:
            _exact_values(node, flat, estimator, weights)
        # The op outputs float32 where skl2onnx declared float64 (input was float64).
        k = 1 if classifier else 0
        declared = node.output[k]
        node.output[k] = f"{declared}_float32"
        nodes.append(
            helper.make_node("Cast", [f"{declared}_float32"], [declared], to=TensorProto.DOUBLE)
        )
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    for opset in graph.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, 3)


def _exact_values(node: Any, flat: list[Any], estimator: Any, weights: str) -> None:
    """The model's float64 values in place of skl2onnx's float32 ones, in one ensemble node."""
    from onnx import helper, numpy_helper

    attrs = {a.name: a for a in node.attribute}
    tree_nodes = list(zip(attrs["nodes_treeids"].ints, attrs["nodes_nodeids"].ints, strict=True))
    thresholds = np.array(
        [
            0.0 if flat[t].nodes[n]["is_leaf"] else float(flat[t].nodes[n]["num_threshold"])
            for t, n in tree_nodes
        ]
    )
    stock = np.array(attrs["nodes_values"].floats, dtype=np.float32)
    if not (thresholds.astype(np.float32) == stock).all():
        raise ValueError("skl2onnx's tree ids do not map to the model's trees")
    leaves = zip(attrs[f"{weights}_treeids"].ints, attrs[f"{weights}_nodeids"].ints, strict=True)
    values = np.array([float(flat[t].nodes[n]["value"]) for t, n in leaves])
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).ravel()
    dropped = {"nodes_values", f"{weights}_weights", "base_values", "nodes_hitrates"}
    kept = [a for a in node.attribute if a.name not in dropped]
    del node.attribute[:]
    node.attribute.extend(kept)
    for name, array in (
        ("nodes_values_as_tensor", thresholds),
        (f"{weights}_weights_as_tensor", values),
        ("base_values_as_tensor", baseline),
    ):
        node.attribute.append(helper.make_attribute(name, numpy_helper.from_array(array, name)))
