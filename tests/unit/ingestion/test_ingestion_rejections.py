"""The record of rejected arrivals: one per arrival, bounded per dataset, oldest dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from millrace_contracts import DataArrived, DatasetRejected, Reason, caused_by, first_of_flow
from millrace_ingestion.core.rejections import RejectionStore
from millrace_shared.objectstore import InMemoryObjectStore

BUCKET = "millrace-state-ingestion"
START = datetime(2026, 12, 1, 9, tzinfo=UTC)


def rejected_arrival(n: int, dataset: str = "iris") -> tuple[DataArrived, DatasetRejected]:
    arrived = DataArrived(
        **first_of_flow(producer="cli"),
        dataset=dataset,
        uri=f"s3://millrace-landing/{dataset}/{n}.csv",
        occurred_at=START + timedelta(minutes=n),
    )
    rejected = DatasetRejected(
        **caused_by(DatasetRejected, arrived, producer="ingestion"),
        dataset=dataset,
        source_uri=arrived.uri,
        reasons=[Reason(code="too_few_rows", message=f"file {n}", details={"rows": n})],
    )
    return arrived, rejected


def test_only_the_newest_are_kept_per_dataset_and_other_datasets_are_untouched() -> None:
    store = InMemoryObjectStore()
    store.ensure_buckets([BUCKET])
    rejections = RejectionStore(store, BUCKET, keep=3)
    rejections.record(*rejected_arrival(0, "other"))
    for n in range(5):
        rejections.record(*rejected_arrival(n))
    kept = rejections.recent("iris")
    assert [r.reasons[0].message for r in kept] == ["file 4", "file 3", "file 2"]
    assert kept[0].reasons[0].details == {"rows": 4}
    assert [r.source_uri for r in rejections.recent("other")] == [
        "s3://millrace-landing/other/0.csv"
    ]
    assert rejections.recent("nothing") == []
