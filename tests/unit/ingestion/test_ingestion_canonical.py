"""Content versions: the same values give the same version, whatever file they came in."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq
from millrace_contracts import DatasetSpec
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.core.canonical import canonical_parquet, content_version
from millrace_ingestion.core.inference import infer_spec
from millrace_ingestion.core.validation import validate

SPEC = DatasetSpec(
    columns=[
        ColumnSpec(name="length", dtype="float"),
        ColumnSpec(name="count", dtype="int", nullable=True),
        ColumnSpec(name="species", dtype="category"),
        ColumnSpec(name="ok", dtype="bool"),
    ]
)
FRAME = pd.DataFrame(
    {
        "length": [5.1, 0.1, 6.25],
        "count": pd.array([3, None, 1], dtype="Int64"),
        "species": ["setosa", "virginica", "setosa, the first"],
        "ok": [True, False, True],
    }
)


def version_of(frame: pd.DataFrame, spec: DatasetSpec = SPEC) -> str:
    checked = validate(frame, spec)
    assert checked.accepted, checked.reasons
    return content_version(canonical_parquet(checked.frame, checked.columns))


def from_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text, newline=""), dtype=str)


def from_parquet(frame: pd.DataFrame, *, index: bool | None = None) -> pd.DataFrame:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=index)
    buffer.seek(0)
    return pd.read_parquet(buffer, dtype_backend="numpy_nullable").reset_index(drop=True)


def test_csv_variants_with_the_same_values_give_one_version() -> None:
    plain = from_csv(FRAME.to_csv(index=False))
    crlf_quoted = from_csv(
        'length,count,species,ok\r\n"5.1","3.0",setosa,true\r\n0.10,,"virginica",False\r\n'
        '6.250,1,"setosa, the first",TRUE'
    )
    reordered = from_csv(FRAME[["ok", "species", "count", "length"]].to_csv(index=False))
    assert version_of(plain) == version_of(crlf_quoted) == version_of(reordered)


def test_parquet_of_the_same_frame_gives_the_csv_version() -> None:
    csv_version = version_of(from_csv(FRAME.to_csv(index=False)))
    assert version_of(from_parquet(FRAME)) == csv_version
    # Narrower storage types and a stored index change nothing either.
    narrow = FRAME.astype({"count": "Int32"}).set_axis(["r1", "r2", "r3"])
    assert version_of(from_parquet(narrow, index=True)) == csv_version


def test_inferred_contracts_also_give_one_version_for_csv_and_parquet() -> None:
    frame = pd.DataFrame({"x": [1.5, None], "n": [1, 2], "s": ["a", "b"], "b": [True, False]})
    via_csv = from_csv(frame.to_csv(index=False))
    via_parquet = from_parquet(frame)
    assert infer_spec(via_csv) == infer_spec(via_parquet)
    assert version_of(via_csv, infer_spec(via_csv)) == version_of(
        via_parquet, infer_spec(via_parquet)
    )


def test_different_values_give_different_versions() -> None:
    changed = FRAME.assign(length=[5.1, 0.1, 6.26])
    assert version_of(changed) != version_of(FRAME)


def test_canonical_bytes_carry_the_contract_types_and_no_pandas_metadata() -> None:
    checked = validate(FRAME, SPEC)
    table = pq.read_table(io.BytesIO(canonical_parquet(checked.frame, checked.columns)))
    assert table.column_names == ["length", "count", "species", "ok"]
    assert [str(t) for t in table.schema.types] == ["double", "int64", "string", "bool"]
    assert b"pandas" not in (table.schema.metadata or {})
    assert table.column("count").to_pylist() == [3, None, 1]


def test_the_canonical_bytes_of_known_values_do_not_change() -> None:
    # Existing versions are named by these bytes: a change here (a writer option, or a pyarrow
    # upgrade's footer) renames every version of data that arrives again, so it must be chosen.
    assert version_of(FRAME) == "207a3577680999a6a36ae7476cd6df69dc35c7722cee47dbb50a619b4f945e9c"
