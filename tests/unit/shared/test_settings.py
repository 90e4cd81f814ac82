from __future__ import annotations

import pytest
from millrace_shared.settings import MillraceSettings
from pydantic import ValidationError


def test_reads_millrace_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("MILLRACE_KAFKA_PARTITIONS", "6")
    settings = MillraceSettings()
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.kafka_partitions == 6


def test_dev_credentials_are_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="MILLRACE_S3_SECRET_KEY"):
        MillraceSettings()
    monkeypatch.setenv("MILLRACE_S3_ACCESS_KEY", "prod-user")
    monkeypatch.setenv("MILLRACE_S3_SECRET_KEY", "a-real-secret")
    assert MillraceSettings().environment == "prod"


def test_sasl_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    with pytest.raises(ValidationError, match="SASL"):
        MillraceSettings()
