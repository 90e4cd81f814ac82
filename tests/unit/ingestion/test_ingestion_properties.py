"""Property tests: whatever bytes arrive, ingestion answers with an event, within its limits.

``Ingestion.ingest`` is what the ``data.arrived`` handler calls. For arbitrary bytes, mutated
valid CSV and Parquet files, and generated tables of awkward values, under drawn limits, it
must return ``DatasetValidated`` or ``DatasetRejected`` with machine-readable reasons — never
raise (a raise is retried, then dead-lettered, and the data team hears nothing) — and what it
accepts must be within the limits. Each example runs on fresh in-memory stores.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import event, given, note
from hypothesis import strategies as st
from millrace_contracts import (
    ColumnSpec,
    DataArrived,
    DatasetDeclaration,
    DatasetDeclared,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    RejectionCode,
    first_of_flow,
)
from millrace_ingestion.bootstrap import config_from
from millrace_ingestion.core.declarations import DeclarationStore
from millrace_ingestion.core.pipeline import Ingestion
from millrace_ingestion.core.versions import VersionStore
from millrace_ingestion.settings import IngestionSettings
from millrace_shared.messaging.publishing import encoded_size
from millrace_shared.objectstore import InMemoryObjectStore
from opentelemetry.trace import NoOpTracer

LANDING = "millrace-landing"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
KNOWN_CODES = {c.value for c in RejectionCode}
MAX_EVENT_BYTES = 64 * 1024

# -- inputs ----------------------------------------------------------------------------------


def tight_or(low: int, high: int, roomy: int) -> st.SearchStrategy[int]:
    """A limit that leaves room (``roomy``) three times in four, else may bite."""
    return st.sampled_from([roomy, roomy, roomy, None]).flatmap(
        lambda limit: (
            st.integers(min_value=low, max_value=high) if limit is None else st.just(limit)
        )
    )


limits = st.builds(
    IngestionSettings,
    max_bytes=tight_or(1, 4000, 10**6),
    max_decoded_bytes=tight_or(1, 100_000, 10**9),
    max_rows=tight_or(1, 10, 10**6),
    max_columns=tight_or(1, 4, 1000),
    max_column_name_length=tight_or(1, 8, 256),
    max_cell_length=tight_or(1, 16, 65_536),
    max_signature_categories=st.integers(min_value=1, max_value=20),
    profile_sample_size=st.integers(min_value=0, max_value=50),
    kafka_max_event_bytes=st.just(MAX_EVENT_BYTES),
)

names = st.sampled_from(["a", "b", "x", "NA", ""]) | st.text(
    st.characters(exclude_categories=("Cs",)), max_size=12
)
cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),  # NaN and infinities too
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
)
# A column of one kind, as a typed file would hold it, or of anything, as text files do.
columns = st.one_of(
    st.lists(
        st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.none(), min_size=1, max_size=12
    ),
    st.lists(st.floats() | st.none(), min_size=1, max_size=12),
    st.lists(st.booleans() | st.none(), min_size=1, max_size=12),
    st.lists(
        st.sampled_from(["a", "b", "", "NA", "1.5", "true"]) | st.none(), min_size=1, max_size=12
    ),
    st.lists(st.text(max_size=30) | st.none(), min_size=1, max_size=12),
    st.lists(
        st.datetimes(timezones=st.just(UTC), min_value=datetime(1677, 10, 1)) | st.none(),
        min_size=1,
        max_size=12,
    ),
    st.lists(cells, min_size=1, max_size=12),
)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, list[object]]:
    """Columns of equal length (the shortest wins), with names that may clash or be empty."""
    drawn = draw(st.lists(st.tuples(names, columns), min_size=1, max_size=6))
    rows = min(len(values) for _, values in drawn)
    return {name: values[:rows] for name, values in drawn}


def csv_bytes(table: dict[str, list[object]]) -> bytes:
    lines = [",".join(_csv_cell(n) for n in table)]
    for i in range(len(next(iter(table.values())))):
        lines.append(",".join(_csv_cell(values[i]) for values in table.values()))
    return ("\n".join(lines) + "\n").encode()


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def parquet_bytes(table: dict[str, list[object]]) -> bytes | None:
    """The table as Parquet, when Arrow can type each column (mixed ones it cannot)."""
    try:
        arrow = pa.table({f"{i}:{n}": pa.array(v) for i, (n, v) in enumerate(table.items())})
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    arrow = arrow.rename_columns(list(table))  # the drawn names, duplicates included
    buffer = io.BytesIO()
    pq.write_table(arrow, buffer)
    return buffer.getvalue()


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, cut, or inserted: a damaged upload."""
    out = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.integers(min_value=0, max_value=max(len(out) - 1, 0)))
        how = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if how == "flip" and out:
            out[where] ^= draw(st.integers(min_value=1, max_value=255))
        elif how == "cut":
            del out[where : where + draw(st.integers(min_value=1, max_value=16))]
        elif how == "insert":
            out[where:where] = draw(st.binary(min_size=1, max_size=16))
        else:
            del out[where:]
    return bytes(out)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(suffix, bytes): random bytes, a generated table as CSV or Parquet, or a damaged one."""
    kind = draw(st.sampled_from(["bytes", "csv", "parquet", "csv-mutated", "parquet-mutated"]))
    suffix = ".parquet" if kind.startswith("parquet") else ".csv"
    if kind == "bytes":
        return draw(st.sampled_from([".csv", ".parquet"])), draw(st.binary(max_size=2000))
    table = draw(tables())
    data = csv_bytes(table) if suffix == ".csv" else parquet_bytes(table)
    if data is None:
        suffix, data = ".csv", csv_bytes(table)
    if kind.endswith("mutated"):
        data = draw(mutated(data))
    return suffix, data


declared_specs = st.builds(
    DatasetSpec,
    columns=st.lists(
        st.builds(
            ColumnSpec,
            name=st.sampled_from(["a", "b", "x", "", "NA"]),
            dtype=st.sampled_from(["int", "float", "bool", "string", "category", "datetime"]),
            nullable=st.booleans(),
            max_null_fraction=st.floats(min_value=0, max_value=1),
            min=st.none() | st.floats(allow_nan=False),
            max=st.none() | st.floats(allow_nan=False),
            allowed=st.none() | st.lists(st.sampled_from(["a", "b", "1", "true"]), max_size=3),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda c: c.name,
    ),
    min_rows=st.integers(min_value=1, max_value=5),
)
# Mostly no contract (the arrival's shape becomes it), sometimes a declared one.
specs = st.sampled_from([False, False, True]).flatmap(
    lambda declared: declared_specs if declared else st.none()
)


# -- the property ----------------------------------------------------------------------------


@given(settings=limits, file=files(), spec=specs)
def test_any_file_is_accepted_within_the_limits_or_rejected_with_reasons(
    settings: IngestionSettings, file: tuple[str, bytes], spec: DatasetSpec | None
) -> None:
    suffix, data = file
    store = InMemoryObjectStore()
    store.ensure_buckets(settings.buckets)
    declarations = DeclarationStore(store, settings.state_bucket("ingestion"))
    if spec is not None:
        declared = DatasetDeclared(
            **first_of_flow(producer="test"),
            declaration=DatasetDeclaration(dataset="fuzz", spec=spec),
        )
        # As the handler gets it: through JSON (where an infinite bound is null, i.e. none).
        declarations.record(DatasetDeclared.model_validate_json(declared.model_dump_json()))
    ingestion = Ingestion(
        store=store,
        declarations=declarations,
        versions=VersionStore(
            store,
            bucket_state=settings.state_bucket("ingestion"),
            bucket_datasets=settings.bucket_datasets,
        ),
        config=config_from(settings),
        tracer=NoOpTracer(),
    )
    uri = f"s3://{LANDING}/fuzz/upload{suffix}"
    store.put_foreign(uri, data)
    note(f"{suffix}, {len(data)} bytes: {data[:200]!r}")

    outcome = ingestion.ingest(
        DataArrived(**first_of_flow(producer="test"), dataset="fuzz", uri=uri)
    )

    event(type(outcome).__name__)  # how the examples split: --hypothesis-show-statistics
    body = outcome.model_dump_json().encode()
    assert encoded_size(outcome, body) <= MAX_EVENT_BYTES
    assert type(outcome).model_validate_json(body) == outcome
    if isinstance(outcome, DatasetRejected):
        assert outcome.reasons
        for reason in outcome.reasons:
            event(f"rejected: {reason.code}")
            assert CODE.match(reason.code) and reason.code in KNOWN_CODES, reason
            assert reason.message
        return
    assert isinstance(outcome, DatasetValidated)
    assert len(data) <= settings.max_bytes
    assert 1 <= outcome.rows <= settings.max_rows
    assert len(outcome.columns) <= settings.max_columns
    for column in outcome.columns:
        assert len(file_name(column.name)) <= settings.max_column_name_length, column
    _assert_cells_within(store, outcome, settings.max_cell_length)


def file_name(name: str) -> str:
    """The name as the file had it, which the limit applies to: pandas names an empty CSV
    header cell ``Unnamed: <i>`` and a repeated one ``<name>.<n>`` (bounded additions)."""
    if re.fullmatch(r"Unnamed: \d+", name):
        return ""
    repeated = re.fullmatch(r"(.*)\.\d+", name, flags=re.DOTALL)
    return repeated[1] if repeated else name


def _assert_cells_within(store: InMemoryObjectStore, outcome: DatasetValidated, limit: int) -> None:
    """The stored canonical data holds no text longer than the cell limit, and the stored
    profile is valid JSON (a NaN or infinity in it would be written as a bare token)."""
    table = pq.read_table(io.BytesIO(store.get_bytes(outcome.data.uri)))
    for column in table.columns:
        for value in column.to_pylist():
            if isinstance(value, str):
                assert len(value) <= limit, (column, value)
    json.loads(store.get_bytes(outcome.profile.uri), parse_constant=_no_constants)


def _no_constants(token: str) -> object:
    raise AssertionError(f"{token} in a stored profile: no JSON reader outside Python takes it")
