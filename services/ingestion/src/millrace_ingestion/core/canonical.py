"""The canonical bytes of a dataset version, and the version they name.

The same values must give the same bytes whatever file they came in: columns in contract
order, one Arrow type per logical type, no pandas index or metadata, and every Parquet writer
option that has a default pinned here (a pyarrow upgrade may still change the writer's
``created_by`` footer, and so the versions of new arrivals).
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from millrace_contracts.policies import ColumnSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "category": pa.string(),
    "datetime": pa.timestamp("us", tz="UTC"),
}
ROW_GROUP_SIZE = 1 << 20


def canonical_table(frame: pd.DataFrame, columns: list[ColumnSpec]) -> pa.Table:
    """``frame`` (as ``validate`` types it) as an Arrow table with no pandas metadata."""
    fields = [pa.field(c.name, ARROW_TYPES[c.dtype], nullable=True) for c in columns]
    arrays = [
        pa.array(frame[c.name], type=f.type, from_pandas=True)
        for c, f in zip(columns, fields, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def canonical_parquet(frame: pd.DataFrame, columns: list[ColumnSpec]) -> bytes:
    # An Arrow sink, not a Python file: the writer then never needs the GIL, so it can run
    # beside the profiling of the same frame.
    sink = pa.BufferOutputStream()
    pq.write_table(
        canonical_table(frame, columns),
        sink,
        row_group_size=ROW_GROUP_SIZE,
        version="2.6",
        data_page_version="1.0",
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        store_schema=True,
        write_page_index=False,
        write_page_checksum=False,
    )
    data: bytes = sink.getvalue().to_pybytes()
    return data


def content_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
