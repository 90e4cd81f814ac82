"""From an arrived file in object storage to a DataFrame, or to the reasons it cannot be one."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from millrace_contracts import DataArrived, Reason, RejectionCode
from millrace_shared.objectstore import (
    ChecksumMismatch,
    ObjectNotFound,
    ObjectStore,
    ObjectTooLarge,
    split_uri,
)

from .limits import InputLimits, check_csv, check_frame, check_parquet
from .reasons import reason

Format = Literal["csv", "parquet"]
_SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class ReadResult:
    frame: pd.DataFrame | None
    reasons: list[Reason] = field(default_factory=list)
    size_bytes: int = 0


def file_format(arrived: DataArrived) -> Format | None:
    """The declared format, else the one the key's suffix names; None if neither says."""
    if arrived.format is not None:
        return arrived.format
    _, key = split_uri(arrived.uri)
    return _SUFFIXES.get(Path(key).suffix.lower())


def read_arrival(
    store: ObjectStore,
    arrived: DataArrived,
    *,
    max_bytes: int,
    work_dir: Path | None = None,
    limits: InputLimits | None = None,
) -> ReadResult:
    """Stream the file to a temporary file (hashed and size-capped on the way) and parse it.

    The size comes from the object's metadata before any byte is fetched, and the limits are
    checked on the header or footer before the file is decoded.
    """
    limits = limits or InputLimits()
    fmt = file_format(arrived)
    if fmt is None:
        return ReadResult(None, [_unsupported(arrived.uri)])
    with tempfile.TemporaryDirectory(prefix="millrace-ingestion-", dir=work_dir) as tmp:
        path = Path(tmp) / f"arrival.{fmt}"
        try:
            store.download(arrived.uri, path, sha256=arrived.sha256, max_bytes=max_bytes)
        except ObjectNotFound:
            return ReadResult(None, [_not_found(arrived.uri)])
        except ObjectTooLarge as err:
            return ReadResult(None, [_too_large(err)])
        except ChecksumMismatch as err:
            return ReadResult(None, [_checksum(err)])
        size = path.stat().st_size
        beyond = check_csv(path, size, limits) if fmt == "csv" else check_parquet(path, limits)
        if beyond:
            return ReadResult(None, beyond, size)
        result = _parse(path, fmt, size, limits)
        if result.frame is not None:
            beyond = check_frame(result.frame, limits)
            if beyond:
                return ReadResult(None, beyond, size)
        return result


def _parse(path: Path, fmt: Format, size: int, limits: InputLimits) -> ReadResult:
    try:
        frame = _read_csv(path, limits.max_rows) if fmt == "csv" else _read_parquet(path)
    except pd.errors.EmptyDataError:
        return ReadResult(None, [_empty(0)], size)
    # What a malformed file makes pandas or Arrow raise is an open set (ParserError,
    # UnicodeDecodeError, ArrowInvalid, OSError, ...); all of them mean "cannot be read".
    except Exception as err:
        return ReadResult(None, [_unreadable(fmt, err)], size)
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return ReadResult(frame, [], size)


def _read_csv(path: Path, max_rows: int) -> pd.DataFrame:
    # Everything as text: types come from the contract (or inference), not from pandas' guess,
    # so "007" can stay a string and CSV and Parquet of the same data meet in coercion.
    # One row past the limit is enough to know the file breaks it.
    return pd.read_csv(path, dtype=str, keep_default_na=True, encoding="utf-8", nrows=max_rows + 1)


def _read_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path, dtype_backend="numpy_nullable")
    return frame.reset_index(drop=True)


def _unsupported(uri: str) -> Reason:
    suffix = Path(split_uri(uri)[1]).suffix.lower()
    return reason(
        RejectionCode.UNSUPPORTED_FORMAT,
        f"cannot tell the format of {uri}: give format 'csv' or 'parquet', or use a .csv, "
        ".parquet or .pq key",
        suffix=suffix or None,
        supported="csv, parquet",
    )


def _not_found(uri: str) -> Reason:
    return reason(RejectionCode.NOT_FOUND, f"no object at {uri}", uri=uri)


def _too_large(err: ObjectTooLarge) -> Reason:
    return reason(
        RejectionCode.TOO_LARGE,
        f"the file is larger than the limit of {err.limit} bytes",
        observed=err.size,
        limit=err.limit,
    )


def _checksum(err: ChecksumMismatch) -> Reason:
    return reason(
        RejectionCode.CHECKSUM_MISMATCH,
        "the file's sha256 is not the one announced: it changed or was corrupted",
        expected=err.expected,
        observed=err.actual,
    )


def _empty(rows: int) -> Reason:
    return reason(RejectionCode.EMPTY, "the file holds no data rows", observed=rows)


def _unreadable(fmt: Format, err: Exception) -> Reason:
    return reason(
        RejectionCode.UNREADABLE,
        f"cannot read the file as {fmt}: {type(err).__name__}: {err}"[:500],
        format=fmt,
        error=type(err).__name__,
    )
