"""Settings: own fields under MILLRACE_DEPLOYMENT_*, shared ones under MILLRACE_*."""

from __future__ import annotations

import pytest
from millrace_deployment.settings import DeploymentSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no .env
    settings = DeploymentSettings()
    assert settings.service_name == "deployment" and settings.http_port == 8104
    assert settings.registry_url == "http://127.0.0.1:8103"
    assert (settings.max_body_bytes, settings.max_batch_rows) == (1024 * 1024, 1000)
    assert (settings.log_buffer_size, settings.log_batch_size) == (10_000, 500)
    assert settings.log_flush_interval_seconds == 0.5
    assert settings.endpoint_base == "http://127.0.0.1:8104"
    assert settings.consumer_group == f"millrace-deployment-{settings.replica_id}"
    assert DeploymentSettings().replica_id != settings.replica_id  # random suffix


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    env = {
        "MILLRACE_DEPLOYMENT_REGISTRY_URL": "http://registry:8103",
        "MILLRACE_DEPLOYMENT_REPLICA_ID": "deploy-0",
        "MILLRACE_DEPLOYMENT_PUBLIC_URL": "http://deploy-0.svc:8104/",
        "MILLRACE_DEPLOYMENT_MAX_BODY_BYTES": "2048",
        "MILLRACE_DEPLOYMENT_MAX_BATCH_ROWS": "10",
        "MILLRACE_DEPLOYMENT_LOG_BUFFER_SIZE": "100",
        "MILLRACE_DEPLOYMENT_LOG_BATCH_SIZE": "20",
        "MILLRACE_DEPLOYMENT_LOG_FLUSH_INTERVAL_SECONDS": "2",
        "MILLRACE_HTTP_PORT": "9000",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = DeploymentSettings()
    assert settings.registry_url == "http://registry:8103"
    assert settings.consumer_group == "millrace-deployment-deploy-0"
    assert settings.endpoint_base == "http://deploy-0.svc:8104"
    assert (settings.max_body_bytes, settings.max_batch_rows) == (2048, 10)
    assert (settings.log_buffer_size, settings.log_batch_size) == (100, 20)
    assert settings.log_flush_interval_seconds == 2.0 and settings.http_port == 9000


def test_a_wildcard_host_is_not_the_public_url() -> None:
    settings = DeploymentSettings(http_host="0.0.0.0", http_port=8104)
    assert not settings.endpoint_base.startswith("http://0.0.0.0")
