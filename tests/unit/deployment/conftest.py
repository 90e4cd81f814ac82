"""Fixtures for the deployment unit tests: a model fitted once by training's code."""

from __future__ import annotations

from typing import Any

import pytest
from deployment_unit_data import BUCKETS, frame, train
from millrace_contracts import FeatureSignature
from millrace_shared.objectstore import InMemoryObjectStore


@pytest.fixture(scope="session")
def trained() -> tuple[Any, list[FeatureSignature]]:
    return train(frame())


@pytest.fixture
def store() -> InMemoryObjectStore:
    fake = InMemoryObjectStore()
    fake.ensure_buckets(BUCKETS)
    return fake
