"""The CLI's commands against fake services over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fakes import FakeService, fake_service
from millrace_infra.ports import free_port


@pytest.fixture(autouse=True)
def own_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("MILLRACE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MILLRACE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    # Default service URLs where nothing listens, whatever runs on this machine.
    monkeypatch.setenv("MILLRACE_SERVICES_BASE_PORT", str(free_port()))


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeService]:
    with fake_service() as service:
        monkeypatch.setenv("MILLRACE_REGISTRY_URL", service.url)
        yield service


@pytest.fixture
def ingestion(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeService]:
    with fake_service() as service:
        monkeypatch.setenv("MILLRACE_INGESTION_URL", service.url)
        yield service


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeService]:
    with fake_service() as service:
        monkeypatch.setenv("MILLRACE_DEPLOYMENT_URL", service.url)
        yield service
