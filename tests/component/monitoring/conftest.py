"""Monitoring's settings and wiring, for the fixtures of tests/component/conftest.py, and a
client of its REST API."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from millrace_monitoring.bootstrap import wire
from millrace_monitoring.settings import MonitoringSettings
from millrace_shared.service import ServiceRuntime


@pytest.fixture
def settings() -> MonitoringSettings:
    return MonitoringSettings(kafka_max_attempts=1, kafka_retry_backoff_seconds=0)


@pytest.fixture
def routers(runtime: ServiceRuntime, settings: MonitoringSettings) -> list[APIRouter]:
    return wire(runtime, settings)


@pytest.fixture
def client(routers: list[APIRouter]) -> TestClient:
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    return TestClient(app)
