"""On the secured stack each principal has its own S3 identity, allowed only its buckets."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from millrace_infra.s3_security import (
    BUCKETS,
    DATASETS,
    LANDING,
    MODELS,
    STATE_INGESTION,
    STATE_MONITORING,
    STATE_REGISTRY,
    STATE_TRAINING,
    STATE_WATCHER,
)
from minio import Minio
from minio.error import S3Error

pytestmark = pytest.mark.integration

# (principal, bucket, operation, allowed): a few representative operations per identity.
CASES = [
    ("ingestion", LANDING, "read", True),
    ("ingestion", LANDING, "write", False),
    ("ingestion", DATASETS, "write", True),
    ("ingestion", STATE_INGESTION, "write", True),
    ("ingestion", MODELS, "read", False),
    ("training", DATASETS, "read", True),
    ("training", DATASETS, "write", False),
    ("training", MODELS, "write", True),
    ("training", STATE_TRAINING, "write", True),
    ("training", LANDING, "read", False),
    ("registry", STATE_REGISTRY, "write", True),
    ("registry", MODELS, "write", False),
    ("registry", DATASETS, "read", False),
    ("deployment", MODELS, "read", True),
    ("deployment", MODELS, "write", False),
    ("deployment", STATE_REGISTRY, "read", False),
    ("monitoring", DATASETS, "read", True),
    ("monitoring", STATE_MONITORING, "write", True),
    ("monitoring", DATASETS, "write", False),
    ("monitoring", MODELS, "read", False),
    ("watcher", LANDING, "read", True),
    ("watcher", LANDING, "write", False),
    ("watcher", STATE_WATCHER, "write", True),
    ("watcher", DATASETS, "read", False),
    ("data-teams", LANDING, "write", True),
    ("data-teams", LANDING, "read", False),
    ("data-teams", DATASETS, "write", False),
    ("data-teams", STATE_INGESTION, "read", False),
    ("application-teams", MODELS, "read", False),
    ("operators", LANDING, "write", False),
]

STATE_OF = {
    "ingestion": STATE_INGESTION,
    "training": STATE_TRAINING,
    "registry": STATE_REGISTRY,
    "monitoring": STATE_MONITORING,
    "watcher": STATE_WATCHER,
}
# Each stateful service may neither overwrite nor read another's state (e.g. ingestion forging
# the registry's version claims, or training rewriting monitoring's known versions).
CASES += [
    (service, bucket, operation, False)
    for service in STATE_OF
    for other, bucket in STATE_OF.items()
    if other != service
    for operation in ("write", "read")
]


def _client(local_stack: Any, principal: str) -> Minio:
    env = local_stack.s3_env(principal)
    return Minio(
        local_stack.s3_endpoint,
        access_key=env["MILLRACE_S3_ACCESS_KEY"],
        secret_key=env["MILLRACE_S3_SECRET_KEY"],
        secure=False,
        region=local_stack.env().get("MILLRACE_S3_REGION"),
    )


@pytest.fixture(scope="module")
def probe_key(local_stack: Any) -> str:
    """An object the admin put in every bucket, for the reads."""
    if not local_stack.secure:
        pytest.skip("the stack is not secured: one root credential")
    admin = _client(local_stack, "admin")
    key = f"identity-test/{uuid.uuid4().hex[:10]}.txt"
    for bucket in BUCKETS:
        admin.put_object(bucket, key, io.BytesIO(b"probe"), 5)
    return key


@pytest.mark.parametrize(("principal", "bucket", "operation", "allowed"), CASES)
def test_an_identity_may_use_only_its_buckets(
    local_stack: Any, probe_key: str, principal: str, bucket: str, operation: str, allowed: bool
) -> None:
    client = _client(local_stack, principal)
    try:
        if operation == "read":
            with client.get_object(bucket, probe_key) as response:
                assert response.read() == b"probe"
        else:
            key = f"identity-test/{principal}-{uuid.uuid4().hex[:10]}.txt"
            client.put_object(bucket, key, io.BytesIO(b"x"), 1)
    except S3Error as err:
        assert not allowed, f"{principal} refused to {operation} {bucket}: {err.code}"
        assert err.code == "AccessDenied"
    else:
        assert allowed, f"{principal} could {operation} {bucket}"


def test_only_the_admin_makes_buckets(local_stack: Any) -> None:
    if not local_stack.secure:
        pytest.skip("the stack is not secured: one root credential")
    bucket = f"millrace-identity-{uuid.uuid4().hex[:8]}"
    with pytest.raises(S3Error, match="AccessDenied"):
        _client(local_stack, "ingestion").make_bucket(bucket)
    admin = _client(local_stack, "admin")
    admin.make_bucket(bucket)
    admin.remove_bucket(bucket)


def test_the_identities_keys_are_kept_private(local_stack: Any) -> None:
    if not local_stack.secure or local_stack.home is None:
        pytest.skip("no secured local stack")
    for name in ("credentials.json", "identities.json"):
        assert (local_stack.home / "s3" / name).stat().st_mode & 0o077 == 0
