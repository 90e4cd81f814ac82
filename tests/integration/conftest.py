"""Fixtures for tests that talk to the real local stack (Kafka + S3 server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings


@pytest.fixture(scope="session")
def stack_settings(stack_settings_as: Callable[..., MillraceSettings]) -> MillraceSettings:
    """The stack's admin: these tests make topics of their own and act as several parties."""
    return stack_settings_as("admin", kafka_retry_backoff_seconds=0.05)


@pytest.fixture(scope="session")
def object_store(stack_settings: MillraceSettings) -> Iterator[MinioObjectStore]:
    store = MinioObjectStore.from_settings(stack_settings)
    store.ensure_buckets(stack_settings.buckets)
    yield store
