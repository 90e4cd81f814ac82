"""The object store's bucket notifications (MinIO's S3 event JSON): which records are arrivals,
with the listing's and ``millrace publish``'s id for the same object, and what is ignored or
dead-lettered. Samples follow MinIO's format (its docs' Kafka target example): keys
URL-encoded, ``EventName``/``Key`` beside ``Records``."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from millrace_contracts import DataArrived, landed_arrival_id
from millrace_contracts.topics import LANDING_NOTIFICATIONS
from millrace_shared.faults import PoisonMessage
from millrace_shared.messaging import RecordingEventSink
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.service import build_runtime
from millrace_watcher.bootstrap import wire
from millrace_watcher.core.arrivals import LandedObject, arrival_for
from millrace_watcher.core.notifications import BucketNotification, arrivals_of
from millrace_watcher.settings import WatcherSettings

LANDING = "millrace-landing"
ETAG = "5fc7298143efe1276d39a3466d4e255f"


def notification(
    key: str = "iris/2024%2F05%2Fv1.csv",
    *,
    event: str = "s3:ObjectCreated:Put",
    bucket: str = LANDING,
    etag: str | None = ETAG,
    principal: str | None = "data-team-key",
) -> dict[str, Any]:
    """One MinIO notification of one record, as its Kafka target writes it."""
    obj: dict[str, Any] = {
        "key": key,
        "size": 224,
        "contentType": "text/csv",
        "userMetadata": {"content-type": "text/csv"},
        "sequencer": "15CFEDF8D5304D1A",
    }
    if etag is not None:
        obj["eTag"] = etag
    record: dict[str, Any] = {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "awsRegion": "",
        "eventTime": "2026-12-07T09:27:27.123Z",
        "eventName": event,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"principalId": principal, "region": "", "sourceIPAddress": "::1"},
        "responseElements": {"x-amz-request-id": "15CFEDF8D4736ED9"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "Config",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": principal},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
        "source": {"host": "::1", "port": "", "userAgent": "MinIO (linux; amd64) minio-py/7"},
    }
    if principal is None:
        del record["userIdentity"]
    return {"EventName": event, "Key": f"{bucket}/{key}", "Records": [record]}


def arrivals(body: dict[str, Any]) -> list[DataArrived]:
    return arrivals_of(
        BucketNotification.model_validate(body),
        landing_bucket=LANDING,
        producer="watcher",
        submitted_by="landing-watcher",
    )


def test_a_put_is_an_arrival_with_the_listings_id_and_the_writer() -> None:
    [arrival] = arrivals(notification())
    assert arrival.dataset == "iris"
    assert arrival.uri == f"s3://{LANDING}/iris/2024/05/v1.csv"  # the key decoded
    assert arrival.event_id == landed_arrival_id(LANDING, "iris/2024/05/v1.csv", ETAG)
    assert arrival.submitted_by == "data-team-key"
    listed = arrival_for(
        LandedObject(LANDING, "iris/2024/05/v1.csv", ETAG, 224),
        producer="watcher",
        submitted_by="landing-watcher",
    )
    assert listed is not None and listed.event_id == arrival.event_id  # one flow, both paths


@pytest.mark.parametrize(
    ("event", "etag"),
    [
        ("s3:ObjectCreated:CompleteMultipartUpload", "d41d8cd98f00b204e9800998ecf8427e-3"),
        ("s3:ObjectCreated:Copy", ETAG),
        ("s3:ObjectCreated:Post", ETAG),
        ("ObjectCreated:Put", f'"{ETAG}"'),  # AWS's own naming, a quoted ETag
    ],
)
def test_every_kind_of_created_object_is_an_arrival(event: str, etag: str) -> None:
    [arrival] = arrivals(notification("iris/v1.csv", event=event, etag=etag))
    assert arrival.event_id == landed_arrival_id(LANDING, "iris/v1.csv", etag.strip('"'))


def test_a_key_with_spaces_and_plus_signs_is_decoded() -> None:
    # Go's url.QueryEscape: space -> "+", "+" -> "%2B", "/" -> "%2F".
    [arrival] = arrivals(notification("iris%2Fmy+file%2B1.csv"))
    assert arrival.uri == f"s3://{LANDING}/iris/my file+1.csv"


@pytest.mark.parametrize(
    "body",
    [
        notification(event="s3:ObjectRemoved:Delete", etag=None),
        notification(event="s3:ObjectAccessed:Get"),
        notification(bucket="millrace-datasets"),
        notification("top-level.csv"),  # no dataset folder
        notification("iris%2Fnotes.txt"),  # not a file ingestion reads
        notification("Not_A_Name%2Fv1.csv"),  # not a dataset's name
    ],
    ids=["delete", "get", "other bucket", "no folder", "not data", "bad name"],
)
def test_what_is_not_a_new_dataset_file_is_ignored(body: dict[str, Any]) -> None:
    assert arrivals(body) == []


def test_without_a_writer_the_watchers_own_name_is_used() -> None:
    [arrival] = arrivals(notification(principal=None))
    assert arrival.submitted_by == "landing-watcher"


def test_a_created_record_without_an_etag_is_poison() -> None:
    with pytest.raises(PoisonMessage, match="without a key or an eTag"):
        arrivals(notification(etag=None))


def test_one_bad_record_announces_nothing_of_its_notification() -> None:
    body = notification()
    bad = copy.deepcopy(body["Records"][0])
    del bad["s3"]["object"]["eTag"]
    body["Records"].append(bad)
    with pytest.raises(PoisonMessage):
        arrivals(body)


async def test_the_subscriber_announces_once_and_dead_letters_what_is_no_notification() -> None:
    settings = WatcherSettings(kafka_max_attempts=1, kafka_retry_backoff_seconds=0)
    store = InMemoryObjectStore()
    runtime = build_runtime(settings, store=store)
    runtime.sink = sink = RecordingEventSink()
    wire(runtime, settings, lister=None)  # type: ignore[arg-type]  # the listing is not used
    async with TestKafkaBroker(runtime.broker) as broker:
        raw = json.dumps(notification()).encode()
        await broker.publish(raw, topic=LANDING_NOTIFICATIONS, key=b"millrace-landing/iris")
        await broker.publish(b"{not json", topic=LANDING_NOTIFICATIONS)
        await broker.publish({"EventName": "s3:ObjectCreated:Put"}, topic=LANDING_NOTIFICATIONS)
        await broker.publish(notification(etag=None), topic=LANDING_NOTIFICATIONS)
    [arrival] = sink.of_type(DataArrived)
    assert arrival.producer == "watcher" and arrival.submitted_by == "data-team-key"
    assert runtime.dead_letters.dead_lettered == 3


def test_a_watcher_without_notifications_does_not_subscribe() -> None:
    settings = WatcherSettings(notifications=False)
    runtime = build_runtime(settings, store=InMemoryObjectStore())
    wire(runtime, settings, lister=None)  # type: ignore[arg-type]
    assert runtime.broker.subscribers == []
