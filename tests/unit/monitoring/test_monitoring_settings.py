"""Monitoring's own settings read MILLRACE_MONITORING_<FIELD>."""

from __future__ import annotations

import pytest
from millrace_monitoring.settings import MonitoringSettings


def test_defaults() -> None:
    settings = MonitoringSettings()
    assert (settings.service_name, settings.http_port) == ("monitoring", 8105)
    assert (settings.max_records, settings.recent_predictions) == (500, 200_000)


def test_own_fields_read_prefixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_MONITORING_MAX_RECORDS", "64")
    monkeypatch.setenv("MILLRACE_MONITORING_RECENT_PREDICTIONS", "1000")
    monkeypatch.setenv("MILLRACE_MONITORING_SEEN_EVENTS", "10")
    monkeypatch.setenv("MILLRACE_MAX_RECORDS", "1")  # another service's name space: ignored
    settings = MonitoringSettings()
    assert (settings.max_records, settings.recent_predictions, settings.seen_events) == (
        64,
        1000,
        10,
    )
