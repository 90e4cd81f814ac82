"""Fixtures for tests that talk to the real local stack (Kafka + S3 server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings


@pytest.fixture(scope="session")
def stack_settings(local_stack: Any) -> MillraceSettings:
    return MillraceSettings(
        environment="dev",  # the local stack's credentials
        kafka_bootstrap=local_stack.kafka_bootstrap,
        s3_endpoint=local_stack.s3_endpoint,
        s3_access_key=local_stack.s3_access_key,
        s3_secret_key=local_stack.s3_secret_key,
        kafka_retry_backoff_seconds=0.05,
    )


@pytest.fixture(scope="session")
def object_store(stack_settings: MillraceSettings) -> Iterator[MinioObjectStore]:
    store = MinioObjectStore.from_settings(stack_settings)
    store.ensure_buckets(stack_settings.buckets)
    yield store
