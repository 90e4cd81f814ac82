"""Fixtures for the training unit tests: small generated data sets in an in-memory store."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from millrace_contracts import (
    ColumnSpec,
    DatasetSpec,
    DatasetValidated,
    TrainingSpec,
    first_of_flow,
)
from millrace_shared.objectstore import InMemoryObjectStore
from training_unit_data import BUCKETS, signature_of

StoreVersion = Callable[..., DatasetValidated]


@pytest.fixture
def store() -> InMemoryObjectStore:
    fake = InMemoryObjectStore()
    fake.ensure_buckets(BUCKETS)
    return fake


@pytest.fixture
def store_version(store: InMemoryObjectStore) -> StoreVersion:
    """Store a frame as a dataset version; return the DatasetValidated ingestion would emit."""

    def _store(
        frame: pd.DataFrame,
        *,
        dataset: str = "iris",
        training: TrainingSpec | None = None,
        **extra: Any,
    ) -> DatasetValidated:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
        version = hashlib.sha256(data).hexdigest()
        base = f"s3://millrace-datasets/{dataset}/{version}"
        columns = signature_of(frame)
        return DatasetValidated(
            **first_of_flow(producer="test"),
            dataset=dataset,
            dataset_version=version,
            source_uri=f"s3://millrace-landing/{dataset}/file.parquet",
            data=store.put_bytes(f"{base}/data.parquet", data),
            profile=store.put_bytes(f"{base}/profile.json", b"{}"),
            rows=len(frame),
            columns=columns,
            spec=DatasetSpec(columns=[ColumnSpec(name=c.name, dtype="float") for c in columns]),
            spec_version=1,
            new_version=True,
            training=training,
            **extra,
        )

    return _store
