"""The prediction archive: every logged prediction, durably, findable by its id.

Monitoring reads every ``predictions.logged`` record anyway and commits its progress only
through checkpoints (ADR 0008), so it keeps the archive: the predictions of a partition are
written when that partition is checkpointed, *before* the checkpoint itself. A checkpoint
therefore never covers a prediction the archive lacks; a kill between the two re-reads the
records and archives them again, and readers drop the repeats (same prediction id).

Layout, in monitoring's own state bucket (``<bucket_state>-monitoring``):

``monitoring/predictions/model=<m>/version=<v>/day=<YYYY-MM-DD>/<stem>.parquet``
    one file per model version and day of each flush (the day of the prediction, UTC);
``monitoring/predictions-index/<group>/<day>/<lo>-<hi>/<m>/<v>/<stem>``
    an empty marker per id group in each file: where to look for an id, without a scan.

Deployment's ids are a per-process random prefix (20 hex) and a counter (12 hex): the group
is the prefix, ``lo``-``hi`` the range of counters in that file, so a lookup lists the
replica's markers and reads the one file whose range holds the id. Ids of another shape
(other producers) are grouped by a digest and their range is ``any``.

Retention: markers and files of days older than ``retention_days`` are deleted (``prune``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from millrace_contracts import PredictionsLogged
from millrace_contracts.common import ScalarValue
from millrace_shared.objectstore import ObjectNotFound, ObjectStore, make_uri
from pydantic import AwareDatetime, BaseModel, Field

logger = logging.getLogger("millrace.monitoring.archive")

DATA_PREFIX = "monitoring/predictions/"
INDEX_PREFIX = "monitoring/predictions-index/"
_DEPLOYMENT_ID = re.compile(r"^[0-9a-f]{32}$")
_HEX_ID = r"\A[0-9a-f]{32}\z"
r"""``_DEPLOYMENT_ID`` for Arrow (RE2): ``\z``, as Python's ``$`` would also match before a
trailing newline; such an id then takes the Python path, which gives it the same group."""
_GROUP_CHARS = 20
ANY_RANGE = "any"

SCHEMA_TIMESTAMP = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SCHEMA = pa.schema(
    [
        ("prediction_id", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.int64()),
        ("replica_id", pa.string()),
        ("timestamp", SCHEMA_TIMESTAMP),
        ("features", pa.string()),  # JSON: features differ per model
        ("output", pa.string()),  # JSON: keeps the output's type (str, int, float, bool)
        ("event_id", pa.string()),
        ("correlation_id", pa.string()),
        ("trace_id", pa.string()),
    ]
)


class ArchivedPrediction(BaseModel):
    """One served prediction as the archive holds it (``GET /predictions/{id}``)."""

    prediction_id: str
    model_name: str
    model_version: int = Field(ge=1)
    replica_id: str = Field(description="Deployment replica that served it.")
    features: dict[str, ScalarValue] = Field(description="The inputs, as served.")
    output: ScalarValue
    timestamp: AwareDatetime = Field(description="When it was served.")
    event_id: uuid.UUID = Field(description="The predictions.logged event that carried it.")
    correlation_id: uuid.UUID = Field(description="That event's correlation id.")
    trace_id: str | None = Field(
        default=None, description="Trace of the log's publication, if the record carried one."
    )


def id_group(prediction_id: str) -> tuple[str, str]:
    """(group, position in the group) of an id: deployment's prefix and counter, else a digest."""
    if _DEPLOYMENT_ID.match(prediction_id):
        return prediction_id[:_GROUP_CHARS], prediction_id[_GROUP_CHARS:]
    digest = hashlib.sha256(prediction_id.encode()).hexdigest()[:_GROUP_CHARS]
    return f"h{digest}", ANY_RANGE


@dataclass
class PredictionChunk:
    """One logged batch's predictions, column by column (built in the decoding thread: a
    few microseconds a prediction, where a dict per row cost ten times that)."""

    model_name: str
    model_version: int
    replica_id: str
    event_id: str
    correlation_id: str
    trace_id: str | None
    prediction_ids: list[str]
    features: list[str]
    outputs: list[str]
    timestamps_us: list[int]

    def __len__(self) -> int:
        return len(self.prediction_ids)

    def table(self) -> pa.Table:
        return table_of([self])


def warm_up_arrow() -> None:
    """Do pyarrow's one-time set-up now: its first array imports pandas, if installed, for its
    pandas interop (1-5 s, about 38 MB; measured), whether or not the caller uses pandas."""
    pa.array([0])


def table_of(chunks: list[PredictionChunk]) -> pa.Table:
    """One Arrow table of ``chunks``' rows, in order, built column by column over all of them
    (a table per chunk, then concatenated, cost ~100 us a chunk: seconds for a buffer of 100k
    one-prediction logs, under the checkpoint's lock)."""
    # The per-chunk columns hold a value per chunk, repeated for each of its rows by Arrow's
    # take: repeating them in Python cost more than the rest of the table for large logs.
    rows = pa.array(np.repeat(np.arange(len(chunks), dtype=np.int64), [len(c) for c in chunks]))

    def each(values: list[Any], kind: pa.DataType) -> pa.Array:
        return pa.array(values, kind).take(rows)

    return pa.table(
        {
            "prediction_id": pa.array(
                list(chain.from_iterable(c.prediction_ids for c in chunks)), pa.string()
            ),
            "model_name": each([c.model_name for c in chunks], pa.string()),
            "model_version": each([c.model_version for c in chunks], pa.int64()),
            "replica_id": each([c.replica_id for c in chunks], pa.string()),
            "timestamp": pa.array(
                list(chain.from_iterable(c.timestamps_us for c in chunks)), pa.int64()
            ).cast(SCHEMA_TIMESTAMP),
            "features": pa.array(
                list(chain.from_iterable(c.features for c in chunks)), pa.string()
            ),
            "output": pa.array(list(chain.from_iterable(c.outputs for c in chunks)), pa.string()),
            "event_id": each([c.event_id for c in chunks], pa.string()),
            "correlation_id": each([c.correlation_id for c in chunks], pa.string()),
            "trace_id": each([c.trace_id for c in chunks], pa.string()),
        },
        schema=SCHEMA,
    )


def chunk_of(event: PredictionsLogged, trace_id: str | None = None) -> PredictionChunk:
    """The archive's columns of one logged batch."""
    predictions = event.predictions
    return PredictionChunk(
        model_name=event.model_name,
        model_version=event.model_version,
        replica_id=event.replica_id,
        event_id=str(event.event_id),
        correlation_id=str(event.correlation_id),
        trace_id=trace_id,
        prediction_ids=[p.prediction_id for p in predictions],
        features=[_compact(orjson.dumps(p.features)) for p in predictions],
        outputs=[_compact(orjson.dumps(p.output)) for p in predictions],
        timestamps_us=[_micros(p.timestamp) for p in predictions],
    )


def _compact(data: bytes) -> str:
    """``data`` as a string that takes only its own length (the column is a string anyway).

    orjson returns its bytes in the buffer it wrote them to, at least 1 KiB and for a row's
    features about 8 KiB whatever the JSON's length (``sys.getsizeof`` does not show it;
    tracemalloc and RSS do). Held in the buffer, that made 100k one-prediction logs take over
    a gigabyte; decoding the ASCII-mostly JSON costs next to nothing.
    """
    return data.decode()


def _micros(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class Marker:
    group: str
    day: str
    lo: str
    hi: str
    model: str
    version: int
    stem: str

    @property
    def key(self) -> str:
        return (
            f"{INDEX_PREFIX}{self.group}/{self.day}/{self.lo}-{self.hi}/"
            f"{self.model}/{self.version}/{self.stem}"
        )

    @property
    def data_key(self) -> str:
        return data_key(self.model, self.version, self.day, self.stem)

    def holds(self, position: str) -> bool:
        if self.lo == ANY_RANGE or position == ANY_RANGE:
            return True
        return self.lo <= position <= self.hi

    @classmethod
    def parse(cls, key: str) -> Marker | None:
        parts = key.removeprefix(INDEX_PREFIX).split("/")
        if len(parts) != 6 or "-" not in parts[2]:
            return None
        group, day, span, model, version, stem = parts
        lo, _, hi = span.partition("-")
        if not version.isdigit():
            return None
        return cls(group, day, lo, hi, model, int(version), stem)


def data_key(model: str, version: int, day: str, stem: str) -> str:
    return f"{DATA_PREFIX}model={model}/version={version}/day={day}/{stem}.parquet"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _row_to_prediction(row: Mapping[str, Any]) -> ArchivedPrediction:
    return ArchivedPrediction(
        prediction_id=row["prediction_id"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        replica_id=row["replica_id"],
        features=json.loads(row["features"]),
        output=json.loads(row["output"]),
        timestamp=row["timestamp"],
        event_id=row["event_id"],
        correlation_id=row["correlation_id"],
        trace_id=row["trace_id"],
    )


class PredictionArchive:
    """Buffers each partition's predictions until its checkpoint, then writes them.

    Called under the checkpointer's lock (``add``, ``flush``, ``drop``); ``find`` and
    ``prune`` only read and delete objects and may run at any time.
    """

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        *,
        retention_days: int,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._store = store
        self._bucket = bucket
        self._retention_days = retention_days
        self._today = today
        self._pending: dict[int, list[PredictionChunk]] = {}
        self._counts: dict[int, int] = {}
        """Predictions in ``_pending`` per partition: asked after every batch, where summing
        a buffer of 100k one-prediction chunks took milliseconds."""
        self.written_files = 0

    def add(self, partition: int, chunks: Iterable[PredictionChunk]) -> None:
        chunks = list(chunks)
        self._pending.setdefault(partition, []).extend(chunks)
        self._counts[partition] = self._counts.get(partition, 0) + sum(len(c) for c in chunks)

    def pending(self, partition: int) -> int:
        return self._counts.get(partition, 0)

    @property
    def buffered(self) -> int:
        """Predictions held for every partition, not written yet (the buffer's bound counts
        these: see ``Checkpointer.make_room``)."""
        return sum(self._counts.values())

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget what revoked partitions held: their new owner reads those records again."""
        for partition in partitions:
            self._pending.pop(partition, None)
            self._counts.pop(partition, None)

    def flush(self, partition: int) -> None:
        """Write the partition's buffered predictions (in a worker thread, lock held).

        Raises if a write fails, and keeps the rows: the caller must then not checkpoint.
        """
        chunks = self._pending.get(partition)
        if not chunks:
            return
        by_version: dict[tuple[str, int], list[PredictionChunk]] = {}
        for chunk in chunks:
            by_version.setdefault((chunk.model_name, chunk.model_version), []).append(chunk)
        for (model, version), of_version in by_version.items():
            table = table_of(of_version)
            days = pc.cast(table["timestamp"], pa.date32())
            unique = pc.unique(days).to_pylist()
            for day in unique:
                # Usually one day: then the whole table is that day's part, no filtered copy.
                part = (
                    table
                    if len(unique) == 1
                    else table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
                )
                self._write_file(partition, model, version, day.isoformat(), part)
        del self._pending[partition]
        del self._counts[partition]

    def _write_file(
        self, partition: int, model: str, version: int, day: str, part: pa.Table
    ) -> None:
        stem = f"p{partition}-{uuid.uuid4().hex[:16]}"
        self._store.put_bytes(
            make_uri(self._bucket, data_key(model, version, day, stem)),
            parquet_bytes(part),
            "application/vnd.apache.parquet",
        )
        # Markers after the data: a marker always points at a file that exists.
        for group, (lo, hi) in _ranges_of(part["prediction_id"]).items():
            marker = Marker(group, day, lo, hi, model, version, stem)
            self._store.put_bytes(make_uri(self._bucket, marker.key), b"", "text/plain")
        self.written_files += 1

    def find(self, prediction_id: str) -> ArchivedPrediction | None:
        """The archived prediction with this id (the first copy: repeats are the same)."""
        group, position = id_group(prediction_id)
        markers = [
            marker
            for key in self._store.list_keys(self._bucket, f"{INDEX_PREFIX}{group}/")
            if (marker := Marker.parse(key)) is not None and marker.holds(position)
        ]
        for marker in sorted(markers, key=lambda m: m.day, reverse=True):
            try:
                data = self._store.get_bytes(make_uri(self._bucket, marker.data_key))
            except ObjectNotFound:  # pruned between listing and reading
                continue
            table = pq.read_table(
                io.BytesIO(data), filters=[("prediction_id", "==", prediction_id)]
            )
            if table.num_rows:
                return _row_to_prediction(table.slice(0, 1).to_pylist()[0])
        return None

    def prune(self) -> int:
        """Delete the files and markers of days past retention; returns how many objects.

        0 days of retention keeps everything. Markers go first, so no marker outlives its file
        for long; a lookup meanwhile skips a missing file.
        """
        if self._retention_days <= 0:
            return 0
        cutoff = (self._today() - timedelta(days=self._retention_days)).isoformat()
        deleted = 0
        for key in self._store.list_keys(self._bucket, INDEX_PREFIX):
            marker = Marker.parse(key)
            if marker is not None and marker.day < cutoff:
                self._store.delete(make_uri(self._bucket, key))
                deleted += 1
        for key in self._store.list_keys(self._bucket, DATA_PREFIX):
            day = _day_of(key)
            if day is not None and day < cutoff:
                self._store.delete(make_uri(self._bucket, key))
                deleted += 1
        if deleted:
            logger.info("pruned %d archive object(s) of days before %s", deleted, cutoff)
        return deleted


def _day_of(key: str) -> str | None:
    for part in key.split("/"):
        if part.startswith("day="):
            return part.removeprefix("day=")
    return None


def _ranges_of(ids: pa.ChunkedArray | pa.Array) -> dict[str, tuple[str, str]]:
    """``_ranges`` of an Arrow column, computed by Arrow when every id has deployment's shape
    (prefix, counter); a per-id Python loop over 100k ids took a good part of a flush."""
    if len(ids) and ids.null_count == 0 and pc.all(pc.match_substring_regex(ids, _HEX_ID)).as_py():
        spans = (
            pa.table(
                {
                    "group": pc.utf8_slice_codeunits(ids, 0, _GROUP_CHARS),
                    "position": pc.utf8_slice_codeunits(ids, _GROUP_CHARS),
                }
            )
            .group_by("group", use_threads=False)
            .aggregate([("position", "min"), ("position", "max")])
            .to_pydict()
        )
        return dict(
            zip(
                spans["group"],
                zip(spans["position_min"], spans["position_max"], strict=True),
                strict=True,
            )
        )
    return _ranges(ids.to_pylist())


def _ranges(ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """group -> (lowest, highest) position of the ids in that group."""
    found: dict[str, tuple[str, str]] = {}
    for prediction_id in ids:
        group, position = id_group(prediction_id)
        if group in found:
            lo, hi = found[group]
            if position != ANY_RANGE:
                found[group] = (min(lo, position), max(hi, position))
        else:
            found[group] = (position, position)
    return found
