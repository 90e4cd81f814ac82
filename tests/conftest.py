"""Shared pytest setup: the local stack (`local_stack`) from millrace-infra, unique names, a store."""

import os
import uuid

import pytest
from millrace_shared.objectstore import InMemoryObjectStore
from millrace_shared.settings import MillraceSettings

pytest_plugins = ["millrace_infra.pytest_plugin"]

# Settings default to prod; every tier runs on the local stack (or fakes) with its dev
# credentials, so say so once here. Tests of the prod default remove it themselves.
os.environ.setdefault("MILLRACE_ENVIRONMENT", "dev")


@pytest.fixture
def unique() -> str:
    """A fresh lower-case name, so tests sharing topics never see each other's records."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(settings: MillraceSettings) -> InMemoryObjectStore:
    """An in-memory object store with the buckets of the test's service ``settings``."""
    store = InMemoryObjectStore()
    store.ensure_buckets(settings.buckets)
    return store
