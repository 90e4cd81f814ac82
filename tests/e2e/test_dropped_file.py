"""A file dropped into the landing bucket starts a flow: no event published by anyone, the
landing watcher announces it; announcing it again (a restarted watcher without its cursor,
``millrace publish``'s announcement) makes no second dataset version or model."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from millrace_contracts import DataArrived, ModelPromoted, first_of_flow, landed_arrival_id
from millrace_shared.objectstore import make_uri
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
