"""One loaded model version, immutable: what a request holds from start to end.

A swap replaces the catalog's reference to a ``ServedModel``; a request that already took the
old one finishes with it, so no request fails or waits during a swap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from millrace_contracts import FeatureSignature, ModelVersionInfo
from millrace_contracts.common import ScalarValue
from millrace_shared.modelio import RowsToInput, input_builder, reference_rows

from .compiled import (
    CompiledModel,
    FastPath,
    agreement_rows,
    compile_pipeline,
    disagreeing_rows,
    threshold_rows,
)
from .validation import SignatureValidator

Probabilities = dict[str, float]

logger = logging.getLogger("millrace.deployment")


def _scalar(value: Any) -> ScalarValue:
    """numpy scalars as the Python values JSON (and the contracts) take."""
    out: ScalarValue = value.item() if isinstance(value, np.generic) else value
    return out


@dataclass(frozen=True)
class ServedModel:
    info: ModelVersionInfo
    model: Any
    loaded_at: datetime
    load_seconds: float
    build_input: RowsToInput = field(repr=False)
    """Chosen once at load: numpy array for positional pipelines, DataFrame for older ones."""
    validator: SignatureValidator = field(repr=False)
    classes: tuple[ScalarValue, ...] | None = None
    """Class labels when one ``predict_proba`` call gives both the label and probabilities."""
    class_keys: tuple[str, ...] = ()
    compiled: FastPath | None = field(default=None, repr=False)
    """The single-row fast path that agreed with the model at load: ONNX Runtime for
    gradient boosting, the compiled path for linear models (ADR 0009); None: the model."""
    fallback: str | None = None
    """Why the preferred fast path is not used (it disagreed with the model at load):
    serving goes down to the next one (or to sklearn itself), and it is made loud."""

    @property
    def runtime(self) -> str:
        """What answers single rows: ``onnxruntime``, ``compiled`` or ``sklearn``."""
        if self.compiled is None:
            return "sklearn"
        return "compiled" if isinstance(self.compiled, CompiledModel) else "onnxruntime"

    @property
    def name(self) -> str:
        return self.info.model_name

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def sha256(self) -> str:
        return self.info.artifact.sha256

    def predict_one(self, row: Mapping[str, Any]) -> tuple[ScalarValue, Probabilities | None]:
        if self.compiled is not None:
            scores = self.compiled.scores(row)
            if self.classes is None:
                return _scalar(scores[0]), None
            best = int(np.argmax(scores))
            return self.classes[best], dict(zip(self.class_keys, scores.tolist(), strict=True))
        x = self.build_input((row,))
        if self.classes is None:
            return _scalar(self.model.predict(x)[0]), None
        # The label is the most probable class, as the allow-listed classifiers' own predict
        # decides it: one call instead of two on the hot path.
        proba = self.model.predict_proba(x)[0]
        best = int(np.argmax(proba))
        return self.classes[best], dict(zip(self.class_keys, proba.tolist(), strict=True))

    def predict_many(self, rows: Sequence[Mapping[str, Any]]) -> list[ScalarValue]:
        if self.compiled is not None:
            # The fast path agreed with the model at load on batches too (``scores_many`` is
            # part of ``disagreeing_rows``), and labels come as single rows get theirs.
            scores = self.compiled.scores_many(rows)
            if self.classes is None:
                values: list[ScalarValue] = scores[:, 0].tolist()
                return values
            classes = self.classes
            return [classes[i] for i in scores.argmax(axis=1).tolist()]
        predicted: list[ScalarValue] = np.asarray(
            self.model.predict(self.build_input(rows))
        ).tolist()
        return predicted


def synthetic_row(signature: Sequence[FeatureSignature]) -> dict[str, ScalarValue]:
    """A row that fits the signature, for the warm-up prediction."""
    row: dict[str, ScalarValue] = {}
    for feature in signature:
        if feature.dtype == "bool":
            row[feature.name] = False
        elif feature.kind == "numeric" or feature.dtype in ("int", "float", "datetime"):
            row[feature.name] = 0.0
        else:
            row[feature.name] = feature.categories[0] if feature.categories else ""
    return row


def serve(
    info: ModelVersionInfo, model: Any, loaded_at: datetime, load_seconds: float
) -> ServedModel:
    classes: tuple[ScalarValue, ...] | None = None
    if (
        info.task == "classification"
        and hasattr(model, "predict_proba")
        and hasattr(model, "classes_")
    ):
        classes = tuple(_scalar(c) for c in model.classes_)
    build_input = input_builder(info.signature, model)
    compiled, fallback = fast_path(info, model, build_input, classifier=classes is not None)
    return ServedModel(
        info=info,
        model=model,
        loaded_at=loaded_at,
        load_seconds=load_seconds,
        build_input=build_input,
        validator=SignatureValidator(info.signature),
        classes=classes,
        class_keys=tuple(str(c) for c in classes) if classes is not None else (),
        compiled=compiled,
        fallback=fallback,
    )


def check_rows(signature: Sequence[FeatureSignature], model: Any) -> list[dict[str, Any]]:
    """What a fast path must answer exactly as the model does: the dataset's own rows kept
    in the artifact by training (the real distribution), generated edge rows (nulls, every
    known category and an unknown one) and rows on the trees' split thresholds, one ulp
    either side included."""
    real = reference_rows(model)
    generated = agreement_rows(signature, model)
    base = real[0] if real else generated[0]
    return [*real, *generated, *threshold_rows(signature, model, base)]


def fast_path(
    info: ModelVersionInfo, model: Any, build_input: RowsToInput, *, classifier: bool
) -> tuple[FastPath | None, str | None]:
    """The first single-row path that agrees with the model on ``check_rows``: ONNX Runtime
    (gradient boosting), then the compiled path. Also why a preferred one was passed over
    (None when the model is simply of a kind neither knows: nothing to be loud about)."""
    # Here, not at the top: it imports scikit-learn (~140 MB), which a replica serving no
    # model yet does not need; loading a model imports it anyway (skops), before this runs.
    from .onnx_runtime import NotConvertible, to_onnx

    candidates: list[tuple[str, Callable[[], FastPath | None]]] = [
        ("ONNX Runtime", lambda: to_onnx(model, info.signature)),
        ("the compiled path", lambda: compile_pipeline(model, info.signature)),
    ]
    rows: list[dict[str, Any]] | None = None
    refused: list[str] = []
    for name, make in candidates:
        try:
            candidate = make()
        except NotConvertible as error:
            refused.append(f"{name} could not convert it ({error})")
            logger.warning("%s v%d: %s", info.model_name, info.version, refused[-1])
            continue
        if candidate is None or candidate.classifier != classifier:
            continue
        rows = rows if rows is not None else check_rows(info.signature, model)
        disagreeing = disagreeing_rows(candidate, model, rows, build_input)
        if not disagreeing:
            return candidate, "; ".join(refused) or None
        refused.append(
            f"{name} disagrees with the model on {disagreeing} of {len(rows)} check rows"
        )
        logger.warning(
            "%s v%d: %s; not serving through it",
            info.model_name,
            info.version,
            refused[-1],
        )
    if refused:
        logger.warning(
            "%s v%d: serving every row through the model itself (slower)",
            info.model_name,
            info.version,
        )
    return None, "; ".join(refused) or None


def warm_up(served: ServedModel) -> None:
    """Predict once before serving: the first request should not pay for lazy set-up, and a
    model that cannot predict a signature-shaped row must never be swapped in."""
    row = synthetic_row(served.info.signature)
    served.validator.validate([dict(row)])
    served.predict_one(row)
    served.predict_many([row, row])
