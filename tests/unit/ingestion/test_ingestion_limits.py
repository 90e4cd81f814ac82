"""Every arrival has a bounded cost: limits checked before decoding, rejections that fit."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from millrace_contracts import (
    DataArrived,
    DatasetRejected,
    DatasetSpec,
    DatasetValidated,
    first_of_flow,
)
from millrace_contracts.policies import ColumnSpec
from millrace_ingestion.bootstrap import config_from
from millrace_ingestion.core import limits as limits_module
from millrace_ingestion.core.declarations import DeclarationStore
from millrace_ingestion.core.limits import InputLimits, landing_violation
from millrace_ingestion.core.pipeline import Ingestion
from millrace_ingestion.core.reading import ReadResult, read_arrival
from millrace_ingestion.core.versions import VersionStore
from millrace_ingestion.settings import IngestionSettings
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.messaging.publishing import DEFAULT_MAX_EVENT_BYTES, encoded_size
from millrace_shared.objectstore import InMemoryObjectStore, ObjectInfo
from opentelemetry.sdk.trace import TracerProvider

Land = Callable[..., DataArrived]
SMALL = InputLimits(
    max_decoded_bytes=1_000_000,
    max_rows=100,
    max_columns=10,
    max_column_name_length=20,
    max_cell_length=50,
)


def read(store: InMemoryObjectStore, arrived: DataArrived) -> ReadResult:
    return read_arrival(store, arrived, max_bytes=10_000_000, limits=SMALL)


def codes(result: ReadResult) -> list[str]:
    return [r.code for r in result.reasons]


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def test_settings_document_sensible_defaults() -> None:
    settings = IngestionSettings()
    assert settings.max_decoded_bytes == 2 * 1024**3
    assert (settings.max_rows, settings.max_columns) == (10_000_000, 1000)
    assert (settings.max_column_name_length, settings.max_cell_length) == (256, 65_536)
    config = config_from(IngestionSettings(max_columns=7, bucket_landing="drop"))
    assert config.limits.max_columns == 7
    assert config.landing_bucket == "drop"


def test_a_csv_within_the_limits_is_read(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.csv", "a,b\n1,x\n2,y\n"))
    assert result.frame is not None and result.reasons == []


def test_too_many_csv_columns_from_the_header_alone(
    store: InMemoryObjectStore, land: Land, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[object] = []
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: parsed.append(a))
    header = ",".join(f"c{i}" for i in range(11))
    result = read(store, land("a.csv", header + "\n" + ",".join("1" * 11) + "\n"))
    assert codes(result) == ["too_many_columns"]
    assert result.reasons[0].details == {"observed": 11, "limit": 10}
    assert parsed == []  # rejected on its header: the file was never parsed


def test_a_header_with_no_end_in_sight_is_too_many_columns(
    store: InMemoryObjectStore, land: Land
) -> None:
    header = ",".join(f"c{i}" for i in range(20_000))  # larger than the header budget
    result = read(store, land("a.csv", header))
    assert codes(result) == ["too_many_columns"]
    assert int(result.reasons[0].details["observed"] or 0) > SMALL.max_columns


def test_long_column_names(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.csv", f"ok,{'n' * 21}\n1,2\n"))
    assert codes(result) == ["column_name_too_long"]
    assert result.reasons[0].details["count"] == 1
    assert result.reasons[0].details["observed"] == 21


def test_a_single_endless_name_is_a_long_name(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.csv", "n" * 200_000))
    assert codes(result) == ["column_name_too_long"]


def test_too_many_csv_rows_parses_one_past_the_limit(
    store: InMemoryObjectStore, land: Land
) -> None:
    rows = "\n".join(str(i) for i in range(500))
    result = read(store, land("a.csv", "a\n" + rows + "\n"))
    assert codes(result) == ["too_many_rows"]
    assert result.reasons[0].details == {"observed": 101, "limit": 100}


def test_long_cells(store: InMemoryObjectStore, land: Land) -> None:
    result = read(store, land("a.csv", f"a,b,c\n1,{'x' * 51},{'y' * 60}\n"))
    assert codes(result) == ["cell_too_long"]
    assert result.reasons[0].details["count"] == 2
    assert result.reasons[0].details["observed"] == 60
    assert json.loads(str(result.reasons[0].details["sample"])) == ["b", "c"]


def test_a_csv_that_would_parse_past_the_memory_limit(
    store: InMemoryObjectStore, land: Land
) -> None:
    # 10 columns x 2000 lines x 64 bytes a cell is over 1 MB parsed, from 40 kB on disk.
    body = "\n".join(",".join("1" * 10) for _ in range(2000))
    limits = InputLimits(max_decoded_bytes=1_000_000, max_rows=10_000)
    result = read_arrival(
        store,
        land("a.csv", ",".join(f"c{i}" for i in range(10)) + "\n" + body),
        max_bytes=10**7,
        limits=limits,
    )
    assert codes(result) == ["too_large_decoded"]


def test_parquet_limits_come_from_the_footer_before_decoding(
    store: InMemoryObjectStore, land: Land, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = pa.table({f"c{i}": pa.array(np.zeros(200, dtype=np.int64)) for i in range(12)})
    decoded: list[object] = []
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: decoded.append(a))
    result = read(store, land("a.parquet", parquet(table)))
    assert codes(result) == ["too_many_rows", "too_many_columns"]
    assert decoded == []


def test_a_parquet_that_decompresses_past_the_limit(
    store: InMemoryObjectStore, land: Land, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A constant column run-length encodes to almost nothing: tiny on disk, large decoded.
    table = pa.table({"a": pa.array(np.zeros(5_000_000, dtype=np.int64))})
    data = parquet(table)
    assert len(data) < 50_000
    decoded: list[object] = []
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: decoded.append(a))
    limits = InputLimits(max_decoded_bytes=10_000_000)
    result = read_arrival(store, land("a.parquet", data), max_bytes=10**7, limits=limits)
    assert codes(result) == ["too_large_decoded"]
    assert int(result.reasons[0].details["observed"] or 0) >= 5_000_000 * 8
    assert decoded == []


def test_parquet_names_and_cells(store: InMemoryObjectStore, land: Land) -> None:
    table = pa.table({"n" * 30: ["a"], "text": ["z" * 100]})
    result = read(store, land("a.parquet", parquet(table)))
    assert codes(result) == ["column_name_too_long"]
    table = pa.table({"ok": ["a"], "text": ["z" * 100]})
    assert codes(read(store, land("b.parquet", parquet(table)))) == ["cell_too_long"]
    categorical = pd.DataFrame({"c": pd.Categorical(["z" * 100, "a"])})
    data = categorical.to_parquet()
    assert codes(read(store, land("c.parquet", data))) == ["cell_too_long"]


@pytest.mark.parametrize(
    "uri",
    [
        "s3://outsider/iris/a.csv",  # another bucket
        "s3://millrace-landing/other/a.csv",  # another dataset's prefix
        "s3://millrace-landing/iris.csv",  # not under any prefix
        "s3://millrace-landing/iris/../other/a.csv",  # a way out some servers normalise
        "s3://millrace-landing/iris//a.csv",
    ],
)
def test_only_the_datasets_landing_prefix(uri: str) -> None:
    found = landing_violation(uri, "iris", "millrace-landing")
    assert found is not None and found.code == "outside_landing"
    assert found.details["expected_prefix"] == "s3://millrace-landing/iris/"


def test_the_landing_prefix_is_accepted() -> None:
    assert (
        landing_violation("s3://millrace-landing/iris/2026/a.csv", "iris", "millrace-landing")
        is None
    )


class SpyStore(InMemoryObjectStore):
    """Records every URI the service asks about, metadata included."""

    def __init__(self, settings: IngestionSettings) -> None:
        super().__init__()
        self.ensure_buckets(settings.buckets)
        self.touched: list[str] = []

    def stat(self, uri: str) -> ObjectInfo:
        self.touched.append(uri)
        return super().stat(uri)

    def download(self, uri: str, dest: Path, *args: Any, **kwargs: Any) -> str:
        self.touched.append(uri)
        return super().download(uri, dest, *args, **kwargs)

    def get_bytes(self, uri: str, *args: Any, **kwargs: Any) -> bytes:
        self.touched.append(uri)
        return super().get_bytes(uri, *args, **kwargs)


def ingestion_on(store: InMemoryObjectStore, settings: IngestionSettings) -> Ingestion:
    return Ingestion(
        store=store,
        declarations=DeclarationStore(store, settings.state_bucket("ingestion")),
        versions=VersionStore(
            store,
            bucket_state=settings.state_bucket("ingestion"),
            bucket_datasets=settings.bucket_datasets,
        ),
        config=config_from(settings),
        tracer=TracerProvider().get_tracer("test"),
    )


def test_a_foreign_uri_is_rejected_unread() -> None:
    settings = IngestionSettings()
    store = SpyStore(settings)
    foreign = "s3://outsider/iris/a.csv"
    store.ensure_buckets(["outsider"])
    store.put_foreign(foreign, b"a,b\n1,2\n")
    ingestion = ingestion_on(store, settings)
    arrived = DataArrived(**first_of_flow(producer="test"), dataset="iris", uri=foreign)
    outcome = ingestion.ingest(arrived)
    assert isinstance(outcome, DatasetRejected)
    assert [r.code for r in outcome.reasons] == ["outside_landing"]
    assert store.touched == []


async def test_twenty_thousand_unexpected_columns_fit_in_one_event(
    store: InMemoryObjectStore, land: Land, declare: Callable[..., object]
) -> None:
    declare(DatasetSpec(columns=[ColumnSpec(name="a", dtype="int")], min_rows=1))
    names = [f"extra_{i}" for i in range(20_000)]
    csv = ",".join(["a", *names]) + "\n" + ",".join(["1"] * 20_001) + "\n"
    settings = IngestionSettings(max_columns=50_000)
    ingestion = ingestion_on(store, settings)
    arrived = land("wide.csv", csv)
    outcome = ingestion.ingest(arrived)
    assert isinstance(outcome, DatasetRejected)
    (summary,) = outcome.reasons
    assert summary.code == "unexpected_column"
    assert summary.details["count"] == 20_000
    assert summary.details["listed"] == 50
    assert json.loads(str(summary.details["sample"]))[:2] == ["extra_0", "extra_1"]
    assert summary.message.startswith("20000 columns")
    body = outcome.model_dump_json().encode()
    assert encoded_size(outcome, body) < 20_000
    sink = RecordingEventSink()
    await sink.publish(outcome)  # what the guard lets through, the broker takes
    assert encoded_size(outcome, body) < DEFAULT_MAX_EVENT_BYTES


def test_a_few_problems_stay_one_reason_each(
    store: InMemoryObjectStore, land: Land, declare: Callable[..., object]
) -> None:
    declare(DatasetSpec(columns=[ColumnSpec(name="a", dtype="int")], min_rows=1))
    ingestion = ingestion_on(store, IngestionSettings())
    outcome = ingestion.ingest(land("a.csv", "a,x,y\n1,2,3\n"))
    assert isinstance(outcome, DatasetRejected)
    assert [r.column for r in outcome.reasons] == ["x", "y"]


def test_limits_module_estimates_are_documented() -> None:
    assert limits_module.CSV_CELL_BYTES > 0 and limits_module.FIXED_VALUE_BYTES >= 8


def test_a_rejection_over_the_event_limit_keeps_one_reason_per_code(
    store: InMemoryObjectStore, land: Land, declare: Callable[..., object]
) -> None:
    declare(DatasetSpec(columns=[ColumnSpec(name="a", dtype="int")], min_rows=1))
    settings = IngestionSettings(kafka_max_event_bytes=4096)
    names = [f"{i}_" + "n" * 200 for i in range(10)]  # ten: each would stay its own reason
    csv = ",".join(["a", *names]) + "\n" + ",".join(["1"] * 11) + "\n"
    outcome = ingestion_on(store, settings).ingest(land("a.csv", csv))
    assert isinstance(outcome, DatasetRejected)
    [summary] = outcome.reasons
    assert (summary.code, summary.details["count"]) == ("unexpected_column", 10)
    assert encoded_size(outcome, outcome.model_dump_json().encode()) <= 4096


def test_observed_categories_shrink_until_the_validated_event_fits(
    store: InMemoryObjectStore, land: Land
) -> None:
    rows = [f"{i},{'v' * 30}{i},{'w' * 30}{i}" for i in range(600)]
    csv = "id,s1,s2\n" + "\n".join(rows) + "\n"
    roomy = ingestion_on(store, IngestionSettings()).ingest(land("a.csv", csv))
    assert isinstance(roomy, DatasetValidated)
    assert all(c.categories is not None for c in roomy.columns if c.name != "id")
    settings = IngestionSettings(kafka_max_event_bytes=20_000)
    outcome = ingestion_on(store, settings).ingest(land("b.csv", csv))
    assert isinstance(outcome, DatasetValidated)
    assert [c.categories for c in outcome.columns if c.name != "id"] == [None, None]
    assert encoded_size(outcome, outcome.model_dump_json().encode()) <= 20_000
