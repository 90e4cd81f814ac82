"""Bounded cost for every arrival: what a file may hold, checked before it is decoded.

The checks here look at what is cheap to know — the object's key, the CSV header, a Parquet
footer — so a file that would exhaust memory is rejected with a reason instead of being
decoded into an out-of-memory kill that the broker redelivers forever.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from millrace_contracts import Reason, RejectionCode
from millrace_shared.objectstore import split_uri

from .reasons import reason

_LISTED = 5
"""Offending names quoted in a limit's reason; the count says how many there are."""
_NAME_CHARS = 60

CSV_CELL_BYTES = 64
"""Estimated memory per CSV cell once parsed: a pointer and a small Python ``str`` (text)."""
STRING_VALUE_BYTES = 56
"""Estimated memory per Parquet string value beyond its characters (a Python ``str``)."""
FIXED_VALUE_BYTES = 9
"""Estimated memory per fixed-width Parquet value: 8 bytes and a null-mask byte."""
_COUNT_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputLimits:
    """The bounds of one arrival; see ``IngestionSettings`` for what each means."""

    max_decoded_bytes: int = 2 * 1024**3
    max_rows: int = 10_000_000
    max_columns: int = 1_000
    max_column_name_length: int = 256
    max_cell_length: int = 65_536


def landing_violation(uri: str, dataset: str, landing_bucket: str) -> Reason | None:
    """Why ``uri`` is not under ``s3://<landing>/<dataset>/``, or None if it is.

    Decided from the URI alone, so a foreign object is never fetched, not even its metadata.
    """
    bucket, key = split_uri(uri)
    segments = key.split("/")
    # "." and ".." segments (and empty ones) are refused: some S3 servers normalise them, which
    # would let "iris/../other/x.csv" read another dataset's files.
    inside = (
        bucket == landing_bucket
        and len(segments) >= 2
        and segments[0] == dataset
        and all(s not in ("", ".", "..") for s in segments)
    )
    if inside:
        return None
    return reason(
        RejectionCode.OUTSIDE_LANDING,
        f"{uri} is not under s3://{landing_bucket}/{dataset}/: only the landing bucket's "
        "prefix of the dataset named in the event is read",
        uri=uri,
        expected_prefix=f"s3://{landing_bucket}/{dataset}/",
    )


def check_csv(path: Path, size: int, limits: InputLimits) -> list[Reason]:
    """The header (columns and their names) and the estimated parsed size, read in bounded
    chunks: the file is never parsed whole here."""
    # A header of max_columns names of max length, quoted and separated, fits in this budget.
    budget = (limits.max_columns + 1) * (limits.max_column_name_length * 4 + 3) + 4096
    with path.open("rb") as raw:
        head = raw.read(budget)
    text = head.decode("utf-8", errors="replace")
    complete = "\n" in text or "\r" in text or len(head) == size
    if not complete:
        # No end of the header within the budget: either too many columns or too long names.
        commas = text.count(",")
        if commas + 1 > limits.max_columns:
            return [_too_many_columns(commas + 1, limits, at_least=True)]
        return [
            reason(
                RejectionCode.COLUMN_NAME_TOO_LONG,
                f"the header's first {budget} bytes hold no complete header: a column name is "
                f"longer than the limit of {limits.max_column_name_length} characters",
                limit=limits.max_column_name_length,
            )
        ]
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return []  # malformed: the parser says so, with its own reason
    if len(header) > limits.max_columns:
        return [_too_many_columns(len(header), limits)]
    reasons = check_names(header, limits)
    cells = _count_lines(path) * max(len(header), 1)
    estimate = size + cells * CSV_CELL_BYTES
    if estimate > limits.max_decoded_bytes:
        reasons.append(_too_large_decoded(estimate, limits, cells=cells))
    return reasons


def check_parquet(path: Path, limits: InputLimits) -> list[Reason]:
    """Rows, columns, names and the estimated decoded size, all from the footer."""
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:
        return []  # not Parquet: the reader says so, with its own reason
    reasons: list[Reason] = []
    if meta.num_rows > limits.max_rows:
        reasons.append(_too_many_rows(meta.num_rows, limits))
    if meta.num_columns > limits.max_columns:
        return [*reasons, _too_many_columns(meta.num_columns, limits)]
    schema = meta.schema
    reasons += check_names([schema.column(i).path for i in range(meta.num_columns)], limits)
    # Compressed and dictionary- or run-length-encoded pages say little about memory: a constant
    # column of a million rows takes a few bytes on disk. What pandas will hold is bounded
    # below by the values' count times their in-memory width, and by the plain page size.
    estimate = 0
    for i in range(meta.num_columns):
        uncompressed = sum(
            meta.row_group(g).column(i).total_uncompressed_size for g in range(meta.num_row_groups)
        )
        strings = schema.column(i).physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY")
        per_value = STRING_VALUE_BYTES if strings else FIXED_VALUE_BYTES
        estimate += max(uncompressed, 0) + meta.num_rows * per_value
    if estimate > limits.max_decoded_bytes:
        reasons.append(_too_large_decoded(estimate, limits, cells=meta.num_rows * meta.num_columns))
    return reasons


def check_names(names: list[str], limits: InputLimits) -> list[Reason]:
    long = [n for n in names if len(n) > limits.max_column_name_length]
    if not long:
        return []
    return [
        reason(
            RejectionCode.COLUMN_NAME_TOO_LONG,
            f"{len(long)} column name(s) are longer than the limit of "
            f"{limits.max_column_name_length} characters",
            count=len(long),
            observed=max(len(n) for n in long),
            limit=limits.max_column_name_length,
            sample=_names(long),
        )
    ]


def check_frame(frame: pd.DataFrame, limits: InputLimits) -> list[Reason]:
    """What only the decoded frame tells: its rows (a CSV's) and its cells' lengths."""
    reasons: list[Reason] = []
    if len(frame) > limits.max_rows:
        reasons.append(_too_many_rows(len(frame), limits, at_least=True))
    long = _long_cells(frame, limits.max_cell_length)
    if long:
        reasons.append(
            reason(
                RejectionCode.CELL_TOO_LONG,
                f"{len(long)} column(s) hold values longer than the limit of "
                f"{limits.max_cell_length} characters",
                count=len(long),
                observed=max(long.values()),
                limit=limits.max_cell_length,
                sample=_names(list(long)),
            )
        )
    return reasons


def _long_cells(frame: pd.DataFrame, limit: int) -> dict[str, int]:
    """Text columns holding a value longer than ``limit``, with their longest value's length."""
    texts = frame.select_dtypes(include=["object", "string", "category"])
    if texts.empty:
        return {}
    # One pass over every text cell at once: a loop of pandas calls per column costs more
    # than the parse for a wide file.
    lengths = _text_length(texts.to_numpy(dtype=object))
    longest = lengths.max(axis=0)
    return {str(n): int(m) for n, m in zip(texts.columns, longest, strict=True) if m > limit}


_text_length = np.vectorize(lambda v: len(v) if isinstance(v, str) else 0, otypes=[np.int64])


def _count_lines(path: Path) -> int:
    """Line breaks plus one: an upper bound on the rows (quoted line breaks count too)."""
    lines = 1
    with path.open("rb") as raw:
        while chunk := raw.read(_COUNT_CHUNK):
            lines += chunk.count(b"\n")
    return lines


def _too_many_columns(observed: int, limits: InputLimits, *, at_least: bool = False) -> Reason:
    more = "at least " if at_least else ""
    return reason(
        RejectionCode.TOO_MANY_COLUMNS,
        f"the file has {more}{observed} columns, more than the limit of {limits.max_columns}",
        observed=observed,
        limit=limits.max_columns,
    )


def _too_many_rows(observed: int, limits: InputLimits, *, at_least: bool = False) -> Reason:
    # A CSV is parsed only up to one row past the limit, so its count is a lower bound.
    said = f"more than {limits.max_rows}" if at_least else str(observed)
    return reason(
        RejectionCode.TOO_MANY_ROWS,
        f"the file has {said} rows, more than the limit of {limits.max_rows}",
        observed=observed,
        limit=limits.max_rows,
    )


def _too_large_decoded(estimate: int, limits: InputLimits, *, cells: int) -> Reason:
    return reason(
        RejectionCode.TOO_LARGE_DECODED,
        f"decoded, the file would take about {estimate} bytes, more than the limit of "
        f"{limits.max_decoded_bytes}",
        observed=estimate,
        limit=limits.max_decoded_bytes,
        cells=cells,
    )


def _names(names: list[str]) -> str:
    return json.dumps([n[:_NAME_CHARS] for n in names[:_LISTED]], ensure_ascii=False)
