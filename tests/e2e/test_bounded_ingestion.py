"""Hostile inputs cost ingestion a bounded amount: rejected with reasons, quickly, in bounded
memory, and the service stays healthy; a URI outside the landing prefix is never read."""

from __future__ import annotations

import io
import time

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from millrace_contracts import DataArrived, DatasetRejected, DatasetValidated

from .conftest import E2E_MAX_DECODED_BYTES
from .flows import Flow, arrive, upload_raw, wait_consumed

RSS_GROWTH_MB = 300
"""Generous: the process's own noise is tens of MB; decoding either file would be far more."""
WITHIN_SECONDS = 60


def wide_csv(columns: int) -> bytes:
    header = ",".join(f"c{i:05d}" for i in range(columns))
    return (header + "\n" + ",".join(["1"] * columns) + "\n").encode()


def parquet_bomb(rows: int, columns: int) -> bytes:
    """Dictionary-encoded constant strings: a few kB on disk, gigabytes once in pandas."""
    column = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["constant"])
    )
    buffer = io.BytesIO()
    pq.write_table(
        pa.table({f"s{i}": column for i in range(columns)}),
        buffer,
        compression="zstd",
        store_schema=False,
    )
    return buffer.getvalue()


async def ready(flow: Flow) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{flow.platform['ingestion'].url}/health/ready")
    return response.status_code == 200


async def test_hostile_files_are_rejected_quickly_in_bounded_memory(flow: Flow) -> None:
    ingestion = flow.platform["ingestion"]
    dataset, settings = flow.dataset, flow.settings
    wide = wide_csv(20_000)
    bomb = parquet_bomb(rows=2_000_000, columns=4)
    assert len(bomb) < 500_000  # under the byte limit: only the decoded size can stop it
    rss_before = ingestion.rss_mb()

    began = time.monotonic()
    wide_event = await arrive(
        flow.producer, dataset, upload_raw(flow.store, settings, dataset, "wide.csv", wide)
    )
    bomb_event = await arrive(
        flow.producer, dataset, upload_raw(flow.store, settings, dataset, "bomb.parquet", bomb)
    )
    wide_rejected = await flow.first(DatasetRejected, wide_event)
    bomb_rejected = await flow.first(DatasetRejected, bomb_event)
    took = time.monotonic() - began
    rss_after = ingestion.rss_mb()

    [columns] = wide_rejected.reasons
    assert columns.code == "too_many_columns"
    assert columns.details["observed"] == 20_000
    [decoded] = bomb_rejected.reasons
    assert decoded.code == "too_large_decoded"
    assert int(decoded.details["observed"] or 0) > E2E_MAX_DECODED_BYTES
    assert took < WITHIN_SECONDS, took
    assert await ready(flow)
    print(f"ingestion RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after ({took:.1f} s)")
    assert rss_after - rss_before < RSS_GROWTH_MB, (rss_before, rss_after)
    # Handled once: nothing retried or dead-lettered, the consumer moved on.
    await wait_consumed(settings, "millrace-ingestion", DataArrived.topic())


async def test_a_uri_outside_the_landing_prefix_is_rejected_unread(flow: Flow) -> None:
    dataset, settings = flow.dataset, flow.settings
    good = b"x,label\n1,a\n2,b\n3,a\n4,b\n"
    # A readable, valid file in a bucket of the outsider's, and one under another dataset's
    # prefix of the landing bucket: read, either would be validated (its contract inferred).
    outsider = f"{dataset}-outsider"
    flow.store.ensure_buckets([outsider])
    foreign = f"s3://{outsider}/{dataset}/data.csv"
    flow.store.put_bytes(foreign, good)
    neighbour = upload_raw(flow.store, settings, f"{dataset}-other", "data.csv", good)
    # And one in a bucket that does not exist: read, it would be "not_found".
    absent = f"s3://{dataset}-absent/{dataset}/data.csv"

    sent = [await arrive(flow.producer, dataset, uri) for uri in (foreign, neighbour, absent)]
    for event in sent:
        rejected = await flow.first(DatasetRejected, event)
        assert [r.code for r in rejected.reasons] == ["outside_landing"], rejected.reasons
        assert rejected.reasons[0].details["uri"] == event.uri
    await wait_consumed(settings, "millrace-ingestion", DataArrived.topic())
    flows = {e.event_id for e in sent}
    assert not flow.watcher.of_type(DatasetValidated, lambda e: e.correlation_id in flows)
    assert await ready(flow)
