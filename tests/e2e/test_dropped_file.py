"""A file dropped into the landing bucket starts a flow: no event published by anyone, the
landing watcher announces it; announcing it again (a restarted watcher without its cursor,
``millrace publish``'s announcement) makes no second dataset version or model. So does the
object store's bucket notification of it (MinIO's S3 event JSON on Kafka) with the listing
also on: one arrival id, one flow."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from millrace_contracts import DataArrived, ModelPromoted, first_of_flow, landed_arrival_id
from millrace_contracts.topics import LANDING_NOTIFICATIONS
from millrace_shared.kafka import kafka_options
from millrace_shared.objectstore import make_uri
from millrace_shared.settings import MillraceSettings
from millrace_watcher.core.cursor import KEY as CURSOR_KEY
from minio import Minio

from . import patched_service
from .flows import Flow, classification_frame, eventually, wait_consumed
from .test_data_to_model import declaration, exactly_one_model_version

pytestmark = pytest.mark.e2e


def s3_as(local_stack: Any, principal: str) -> Minio:
    env = local_stack.s3_env(principal)
    return Minio(
        local_stack.s3_endpoint,
        access_key=env["MILLRACE_S3_ACCESS_KEY"],
        secret_key=env["MILLRACE_S3_SECRET_KEY"],
        secure=False,
        region=local_stack.env().get("MILLRACE_S3_REGION"),
    )


def cursor_written(client: Minio, bucket: str) -> bool:
    return any(o.object_name == CURSOR_KEY for o in client.list_objects(bucket, prefix="watcher/"))


async def versions(flow: Flow) -> list[dict[str, Any]]:
    url = f"{flow.platform['ingestion'].url}/datasets/{flow.dataset}/versions"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


async def test_a_dropped_file_is_promoted_once_however_often_it_is_announced(
    flow: Flow, local_stack: Any
) -> None:
    await flow.declare(declaration(flow.dataset))
    bucket = flow.settings.bucket_landing
    state = flow.settings.bucket_state + "-watcher"
    watcher_argv = patched_service.command("watcher", landing_prefix=f"{flow.dataset}/")
    watcher = flow.platform.start("watcher", watcher_argv, MILLRACE_WATCHER_POLL_SECONDS="0.3")
    watcher.wait_ready()
    try:
        # A data team drops a file with a plain S3 client: no Kafka, no CLI.
        csv = classification_frame(600, seed=2).to_csv(index=False).encode()
        key = f"{flow.dataset}/dropped.csv"
        uploader = "data-teams" if local_stack.secure else "admin"
        written = s3_as(local_stack, uploader).put_object(
            bucket, key, io.BytesIO(csv), len(csv), content_type="text/csv"
        )
        flow_id = landed_arrival_id(bucket, key, written.etag or "")
        # The flow's handle: the arrival the watcher publishes has this id.
        handle = DataArrived(
            **first_of_flow(producer="e2e", event_id=flow_id),
            dataset=flow.dataset,
            uri=make_uri(bucket, key),
        )
        decision = await flow.decision(handle)
        assert isinstance(decision, ModelPromoted), decision
        assert decision.model.version == 1

        # Restarted without its cursor: the watcher announces the file again, same id.
        watcher.stop()
        admin = s3_as(local_stack, "admin")
        admin.remove_object(state, CURSOR_KEY)
        watcher = flow.platform.start("watcher", watcher_argv, MILLRACE_WATCHER_POLL_SECONDS="0.3")
        watcher.wait_ready()
        # ... and so does `millrace publish` for its own upload of that object.
        await flow.producer.publish(handle)
        # The restarted watcher has announced it once it has written its cursor again.
        await eventually(lambda: cursor_written(admin, state))
    finally:
        watcher.stop()
    await wait_consumed(flow.settings, "millrace-ingestion", DataArrived.topic())
    assert [v["version"] for v in await versions(flow)] == [decision.model.dataset_version]
    await exactly_one_model_version(flow)


def minio_notification(bucket: str, key: str, etag: str, size: int, writer: str) -> bytes:
    """What MinIO's Kafka target publishes for a put (its format: the key URL-encoded as Go's
    url.QueryEscape does, ``Key`` as bucket/key beside the records)."""
    record = {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "awsRegion": "",
        "eventTime": "2026-12-07T10:00:00.000Z",
        "eventName": "s3:ObjectCreated:Put",
        "userIdentity": {"principalId": writer},
        "requestParameters": {"principalId": writer, "region": "", "sourceIPAddress": "::1"},
        "responseElements": {"x-amz-request-id": "187E8A5B0C2D1F00"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "Config",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": writer}, "arn": ""},
            "object": {"key": quote_plus(key), "size": size, "eTag": etag, "sequencer": "1"},
        },
        "source": {"host": "::1", "port": "", "userAgent": "MinIO (linux; amd64)"},
    }
    body = {"EventName": "s3:ObjectCreated:Put", "Key": f"{bucket}/{key}", "Records": [record]}
    return json.dumps(body).encode()


async def produce_raw(settings: MillraceSettings, topic: str, value: bytes, key: str) -> None:
    """As the object store does: a plain record, no CloudEvents headers."""
    producer = AIOKafkaProducer(**kafka_options(settings, client_id="millrace-e2e-object-store"))
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


async def test_a_notified_and_listed_file_is_one_arrival(
    flow: Flow, local_stack: Any, stack_settings_as: Callable[..., MillraceSettings]
) -> None:
    await flow.declare(declaration(flow.dataset))
    bucket = flow.settings.bucket_landing
    state = flow.settings.bucket_state + "-watcher"
    admin = s3_as(local_stack, "admin")
    csv = classification_frame(600, seed=4).to_csv(index=False).encode()
    key = f"{flow.dataset}/notified file+1.csv"  # encoded in the notification, not listed so
    uploader = "data-teams" if local_stack.secure else "admin"
    written = s3_as(local_stack, uploader).put_object(
        bucket, key, io.BytesIO(csv), len(csv), content_type="text/csv"
    )
    etag = (written.etag or "").strip('"')
    flow_id = landed_arrival_id(bucket, key, etag)
    writer = local_stack.s3_env(uploader)["MILLRACE_S3_ACCESS_KEY"]
    # The store's notification of the real object, written as the store's own principal.
    notification = minio_notification(bucket, key, etag, len(csv), writer)
    await produce_raw(
        stack_settings_as("object-store"), LANDING_NOTIFICATIONS, notification, f"{bucket}/{key}"
    )
    # The watcher finds both: the notification on its topic, the object in its listing.
    watcher_argv = patched_service.command("watcher", landing_prefix=f"{flow.dataset}/")
    watcher = flow.platform.start("watcher", watcher_argv, MILLRACE_WATCHER_POLL_SECONDS="0.3")
    watcher.wait_ready()
    try:
        handle = DataArrived(
            **first_of_flow(producer="e2e", event_id=flow_id),
            dataset=flow.dataset,
            uri=make_uri(bucket, key),
        )
        decision = await flow.decision(handle)
        assert isinstance(decision, ModelPromoted), decision
        # Both paths have announced: the listing's cursor is written, the notification read.
        await eventually(lambda: cursor_written(admin, state))
        await wait_consumed(flow.settings, "millrace-watcher", LANDING_NOTIFICATIONS)
    finally:
        watcher.stop()
    await wait_consumed(flow.settings, "millrace-ingestion", DataArrived.topic())

    def arrivals() -> list[DataArrived]:
        return flow.watcher.of_type(DataArrived, lambda e: e.dataset == flow.dataset)

    await eventually(lambda: len(arrivals()) >= 2)  # the session's watcher reads on its own
    # One announcement per path, both of one arrival: the notification's names the writer.
    assert [a.event_id for a in arrivals()] == [flow_id, flow_id]
    assert {a.submitted_by for a in arrivals()} == {writer, "landing-watcher"}
    assert {a.uri for a in arrivals()} == {make_uri(bucket, key)}
    assert [v["version"] for v in await versions(flow)] == [decision.model.dataset_version]
    await exactly_one_model_version(flow)
