"""The prediction use case: validate, predict, hand the log to the buffer, answer.

Single rows run inline on the event loop: no span, no thread hop, one numpy array, one model
call. Batches run in a worker thread under a ``predict_batch`` span.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from millrace_shared.telemetry import Attr
from opentelemetry import propagate
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from .logbuffer import LoggedPrediction, PredictionLogBuffer
from .served import ServedModel
from .validation import Code, InputError, InvalidInput


class TooManyRows(ValueError):
    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(f"{rows} rows is over the limit of {limit} per request")
        self.rows, self.limit = rows, limit


def is_batch(payload: Any) -> bool:
    """``{"rows": [...]}`` and nothing else is a batch; any other object is one row."""
    return isinstance(payload, dict) and len(payload) == 1 and isinstance(payload.get("rows"), list)


class PredictionIds:
    """Ids unique across replicas and restarts, like a uuid4's hex, without a system call per
    prediction: a random 80-bit prefix per process, then a counter."""

    def __init__(self) -> None:
        self._format = f"{secrets.token_hex(10)}%012x".__mod__
        self._counter = itertools.count()

    def __call__(self) -> str:
        return self._format(next(self._counter))

    def many(self, count: int) -> list[str]:
        """``count`` ids at once, formatted by ``map`` (a batch's in 2/3 of the time of one
        call each). ``list(islice(...))`` takes the counter's values in one C call: no other
        thread can take one of them meanwhile."""
        return list(map(self._format, list(itertools.islice(self._counter, count))))


def prediction_ids() -> PredictionIds:
    return PredictionIds()


@dataclass
class Predictor:
    buffer: PredictionLogBuffer
    tracer: Tracer
    replica_id: str
    max_batch_rows: int
    clock: Callable[[], float] = time.time
    new_id: PredictionIds = field(default_factory=prediction_ids)

    def one(self, served: ServedModel, row: Any) -> dict[str, Any]:
        served.validator.validate((row,))
        with _unpredictable():
            prediction, probabilities = served.predict_one(row)
        prediction_id = self.new_id()
        self.buffer.append(
            LoggedPrediction(
                served.name, served.version, prediction_id, row, prediction, self.clock()
            )
        )
        body: dict[str, Any] = {
            "model": served.name,
            "version": served.version,
            "prediction_id": prediction_id,
            "prediction": prediction,
        }
        if probabilities is not None:
            body["probabilities"] = probabilities
        return body

    async def batch(
        self, served: ServedModel, rows: list[Any], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """``headers``: the request's, so the span joins the caller's trace."""
        if len(rows) > self.max_batch_rows:
            raise TooManyRows(len(rows), self.max_batch_rows)
        if not rows:
            raise InvalidInput([InputError(None, None, Code.EMPTY_BATCH, "no rows to predict")])
        attributes: dict[str, AttributeValue] = {
            Attr.MODEL: served.name,
            Attr.MODEL_VERSION: served.version,
            Attr.REPLICA: self.replica_id,
            Attr.BATCH_SIZE: len(rows),
        }
        parent = propagate.extract(headers) if headers is not None else None
        with self.tracer.start_as_current_span(
            "predict_batch", context=parent, attributes=attributes
        ):
            predictions = await asyncio.to_thread(_validate_and_predict, served, rows)
        at = self.clock()
        ids = self.new_id.many(len(rows))
        name, version = served.name, served.version
        # One log per prediction, built by map (no per-row Python frame) and buffered at once.
        self.buffer.extend(
            list(
                map(
                    LoggedPrediction,
                    repeat(name),
                    repeat(version),
                    ids,
                    rows,
                    predictions,
                    repeat(at),
                )
            )
        )
        out = [{"prediction_id": i, "prediction": p} for i, p in zip(ids, predictions, strict=True)]
        return {"model": name, "version": version, "predictions": out}


def _validate_and_predict(served: ServedModel, rows: list[Mapping[str, Any]]) -> list[Any]:
    checked = served.validator.validate(rows)
    with _unpredictable():
        return served.predict_many(checked)


@contextmanager
def _unpredictable() -> Iterator[None]:
    """Rows that fit the signature but not the model (scikit-learn refuses what its own
    transforms made infinite, say) are the client's input problem: a 422, not a 500."""
    try:
        yield
    except ValueError as error:
        raise InvalidInput(
            [InputError(None, None, Code.UNPREDICTABLE, f"the model cannot predict it: {error}")]
        ) from error
