"""Ingestion's settings and wiring, for the fixtures of tests/component/conftest.py."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from millrace_ingestion.bootstrap import wire
from millrace_ingestion.settings import IngestionSettings
from millrace_shared.service import ServiceRuntime


@pytest.fixture
def settings() -> IngestionSettings:
    return IngestionSettings(kafka_max_attempts=1, kafka_retry_backoff_seconds=0)


@pytest.fixture
def routers(runtime: ServiceRuntime, settings: IngestionSettings) -> list[APIRouter]:
    return wire(runtime, settings)
