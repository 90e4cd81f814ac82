"""Fixtures for the registry's unit tests: an in-memory object store and a controllable clock."""

from __future__ import annotations

import pytest
from millrace_registry.core.service import Registry
from millrace_registry.core.store import RegistryStore
from millrace_shared.objectstore import InMemoryObjectStore
from registry_support import BUCKET, Clock, MakeTrained, make_trained


@pytest.fixture
def objects() -> InMemoryObjectStore:
    store = InMemoryObjectStore()
    store.ensure_buckets([BUCKET])
    return store


@pytest.fixture
def store(objects: InMemoryObjectStore) -> RegistryStore:
    return RegistryStore(objects, BUCKET)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(store: RegistryStore, clock: Clock) -> Registry:
    return Registry(store, clock=clock)


@pytest.fixture
def trained() -> MakeTrained:
    return make_trained
