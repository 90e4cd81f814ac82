"""The watcher's view of the real landing bucket (SeaweedFS): its identity lists what a data
team uploaded, with the ETag the upload returned, so ``millrace publish`` and the watcher
derive one arrival id."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from millrace_contracts import landed_arrival_id
from millrace_infra.s3_security import LANDING
from millrace_watcher.core.arrivals import arrival_for
from millrace_watcher.core.listing import MinioLister
from minio import Minio

pytestmark = pytest.mark.integration


def client(local_stack: Any, principal: str) -> Minio:
    env = local_stack.s3_env(principal)
    return Minio(
        local_stack.s3_endpoint,
        access_key=env["MILLRACE_S3_ACCESS_KEY"],
        secret_key=env["MILLRACE_S3_SECRET_KEY"],
        secure=False,
        region=local_stack.env().get("MILLRACE_S3_REGION"),
    )


def test_the_watcher_lists_an_upload_under_the_uploads_etag(local_stack: Any) -> None:
    uploader = "data-teams" if local_stack.secure else "admin"
    watcher = "watcher" if local_stack.secure else "admin"
    key = f"w{uuid.uuid4().hex[:10]}/batch.csv"
    written = client(local_stack, uploader).put_object(
        LANDING, key, io.BytesIO(b"a,b\n1,2\n"), 8, content_type="text/csv"
    )
    listed = [o for o in MinioLister(client(local_stack, watcher)).list(LANDING) if o.key == key]
    assert len(listed) == 1
    obj = listed[0]
    assert obj.etag == (written.etag or "").strip('"') and obj.size == 8
    arrival = arrival_for(obj, producer="watcher", submitted_by="landing-watcher")
    assert arrival is not None
    assert arrival.event_id == landed_arrival_id(LANDING, key, written.etag or "")


def test_the_store_does_not_report_who_wrote_an_object(local_stack: Any) -> None:
    """Why arrivals' submitter is a setting: asked for owners, SeaweedFS names the bucket's
    owner (the stack's admin made it) for an object the data-teams identity wrote."""
    if not local_stack.secure:
        pytest.skip("the stack is not secured: one root credential")
    key = f"w{uuid.uuid4().hex[:10]}/batch.csv"
    client(local_stack, "data-teams").put_object(LANDING, key, io.BytesIO(b"a\n1\n"), 4)
    owners = {
        o.owner_name
        for o in client(local_stack, "watcher").list_objects(
            LANDING, prefix=key, recursive=True, fetch_owner=True
        )
    }
    assert "millrace-data-teams" not in owners
