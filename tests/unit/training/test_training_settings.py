from __future__ import annotations

import pytest
from millrace_training.settings import TrainingSettings


def test_defaults() -> None:
    settings = TrainingSettings()
    assert (settings.service_name, settings.http_port) == ("training", 8102)
    assert settings.max_poll_interval_ms == 30 * 60 * 1000
    assert settings.max_training_rows is None


def test_service_fields_read_their_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_TRAINING_MAX_TRAINING_ROWS", "1000")
    monkeypatch.setenv("MILLRACE_TRAINING_MAX_POLL_INTERVAL_MS", "60000")
    monkeypatch.setenv("MILLRACE_HTTP_PORT", "18102")
    settings = TrainingSettings()
    assert settings.max_training_rows == 1000
    assert settings.max_poll_interval_ms == 60000
    assert settings.http_port == 18102
