"""Reading arrived files: CSV and Parquet in, or the reason they cannot be read."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import pandas as pd
from millrace_contracts import DataArrived, first_of_flow
from millrace_ingestion.core.reading import ReadResult, file_format, read_arrival
from millrace_shared.objectstore import InMemoryObjectStore

Land = Callable[..., DataArrived]


def read(store: InMemoryObjectStore, arrived: DataArrived, max_bytes: int = 10_000) -> ReadResult:
    return read_arrival(store, arrived, max_bytes=max_bytes)


def codes(result: ReadResult) -> list[str]:
    return [r.code for r in result.reasons]


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def test_csv_is_read_as_text(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.csv", "id,zip\n1,007\n2,\n"))
    assert result.frame is not None
    assert result.frame["zip"].tolist()[0] == "007"
    assert result.frame["zip"].isna().tolist() == [False, True]
    assert result.size_bytes == len("id,zip\n1,007\n2,\n")


def test_parquet_is_read_typed_without_its_index(store: InMemoryObjectStore, land: Land) -> None:
    frame = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["r1", "r2"], name="row"))
    result = read(store, land("a.parquet", parquet_bytes(frame)))
    assert result.frame is not None
    assert list(result.frame.columns) == ["x"]
    assert result.frame["x"].tolist() == [1, 2]


def test_declared_format_beats_the_suffix(store: InMemoryObjectStore, land: Land) -> None:
    arrived = land("export.txt", "a\n1\n", format="csv")
    assert file_format(arrived) == "csv"
    assert read(store, arrived).frame is not None


def test_unsupported_format(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.xlsx", b"PK\x03\x04"))
    assert codes(result) == ["unsupported_format"]
    assert result.reasons[0].details["suffix"] == ".xlsx"


def test_not_found(store: InMemoryObjectStore) -> None:
    arrived = DataArrived(
        **first_of_flow(producer="test"),
        dataset="iris",
        uri="s3://millrace-landing/iris/nothing.csv",
    )
    assert codes(read(store, arrived)) == ["not_found"]


def test_too_large(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("big.csv", "a\n" + "1\n" * 100), max_bytes=50)
    assert codes(result) == ["too_large"]
    assert result.reasons[0].details["limit"] == 50


def test_checksum_mismatch_against_the_announced_digest(
    store: InMemoryObjectStore, land: Land
) -> None:
    arrived = land("a.csv", "a\n1\n", sha256=hashlib.sha256(b"something else").hexdigest())
    result = read(store, arrived)
    assert codes(result) == ["checksum_mismatch"]
    assert result.reasons[0].details["expected"] == arrived.sha256


def test_announced_digest_that_matches_is_accepted(store: InMemoryObjectStore, land: Land) -> None:
    arrived = land("a.csv", "a\n1\n", sha256=hashlib.sha256(b"a\n1\n").hexdigest())
    assert read(store, arrived).frame is not None


def test_unreadable_parquet(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.parquet", b"PAR1 this is not parquet"))
    assert codes(result) == ["unreadable"]
    assert result.reasons[0].details["format"] == "parquet"


def test_unreadable_csv_that_is_not_utf8(store: InMemoryObjectStore, land: Land) -> None:
    assert codes(read(store, land("a.csv", b"a,b\n\xff\xfe,1\n"))) == ["unreadable"]


def test_unreadable_csv_with_ragged_rows(store: InMemoryObjectStore, land: Land) -> None:
    assert codes(read(store, land("a.csv", "a,b\n1,2\n3,4,5,6\n"))) == ["unreadable"]


def test_empty_file(store: InMemoryObjectStore, land: Land) -> None:
    assert codes(read(store, land("a.csv", b""))) == ["empty"]


def test_header_only_csv_reads_as_zero_rows(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.csv", "a,b\n"))
    assert result.frame is not None
    assert len(result.frame) == 0
