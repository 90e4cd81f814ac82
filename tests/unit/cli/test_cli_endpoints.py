"""Where the platform is: environment over what `up` recorded over the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import isolate
from millrace_cli.endpoints import resolve
from millrace_cli.errors import CliError, ExitCode
from millrace_cli.services_runtime import ServiceRecord, ServicesFile
from millrace_cli.settings import load_settings
from millrace_infra import StackConfig
from millrace_infra.state import write_state
from millrace_shared.registry.tokens import LOCAL_TOKEN_FILE, ensure_local_token


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    isolate(monkeypatch, tmp_path)
    return tmp_path


def test_defaults_without_a_stack_or_services(home: Path) -> None:
    endpoints = resolve()
    assert endpoints.settings.kafka_bootstrap == "127.0.0.1:19092"
    assert endpoints.settings.s3_endpoint == "127.0.0.1:19094"
    assert endpoints.services["ingestion"] == "http://127.0.0.1:8101"
    assert endpoints.services["monitoring"] == "http://127.0.0.1:8105"
    assert endpoints.origins["kafka"] == "default"
    message = endpoints.unreachable("kafka").message
    assert message == "Kafka is not reachable at 127.0.0.1:19092 — run `millrace up`"


def test_the_stack_state_and_services_json_are_read(home: Path) -> None:
    config = StackConfig.from_base_port(31000, home=home)
    write_state(config, {})
    ServicesFile(home).write(
        {
            "registry": ServiceRecord(
                name="registry", pid=1, port=9103, log="x.log", started_at="now"
            )
        }
    )
    endpoints = resolve()
    assert endpoints.settings.kafka_bootstrap == "127.0.0.1:31000"
    assert endpoints.settings.s3_endpoint == "127.0.0.1:31002"
    assert endpoints.origins["kafka"] == "stack"
    assert endpoints.services["registry"] == "http://127.0.0.1:9103"
    assert endpoints.origins["registry"] == "up"
    assert endpoints.as_dict()["registry_url"] == "http://127.0.0.1:9103"


def test_the_environment_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_state(StackConfig.from_base_port(31000, home=home), {})
    monkeypatch.setenv("MILLRACE_ENVIRONMENT", "dev")
    monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", "kafka.example:9092")
    monkeypatch.setenv("MILLRACE_S3_ENDPOINT", "s3.example:443")
    monkeypatch.setenv("MILLRACE_DEPLOYMENT_URL", "http://deploy.example/")
    monkeypatch.setenv("MILLRACE_JAEGER_URL", "http://jaeger.example:16686")
    endpoints = resolve()
    assert endpoints.settings.kafka_bootstrap == "kafka.example:9092"
    assert endpoints.settings.s3_endpoint == "s3.example:443"
    assert endpoints.services["deployment"] == "http://deploy.example"
    assert endpoints.jaeger_url == "http://jaeger.example:16686"
    message = endpoints.unreachable("kafka").message
    assert message.endswith("— check MILLRACE_KAFKA_BOOTSTRAP")
    assert endpoints.unreachable("deployment").code == ExitCode.UNREACHABLE
    assert "secret" not in str(endpoints.as_dict()["s3"])


def test_services_base_port_moves_the_defaults(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_SERVICES_BASE_PORT", "9001")
    assert resolve().services["registry"] == "http://127.0.0.1:9003"


def test_registry_token(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().registry_bearer(home) is None  # the registry will answer 401
    local = ensure_local_token(home)
    assert load_settings().registry_bearer(home) == local.token
    assert (home / LOCAL_TOKEN_FILE).stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKEN", "s3cret")
    assert load_settings().registry_bearer(home) == "s3cret"


def test_the_cli_is_dev_only_on_the_local_stack(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().environment == "dev"
    monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", "kafka.example:9092")
    monkeypatch.setenv("MILLRACE_S3_ENDPOINT", "s3.example:443")
    # Another platform's Kafka and S3: prod, so the local stack's dev keys are refused.
    with pytest.raises(CliError, match="MILLRACE_S3_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("MILLRACE_S3_ACCESS_KEY", "real")
    monkeypatch.setenv("MILLRACE_S3_SECRET_KEY", "real-secret")
    assert load_settings().environment == "prod"


def test_bad_settings_are_one_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_ENVIRONMENT", "prod")
    with pytest.raises(CliError, match="invalid MILLRACE_\\* configuration"):
        load_settings()


def test_services_json_survives_garbage(home: Path) -> None:
    (home / "services.json").write_text("{not json")
    assert ServicesFile(home).read() == {}
    (home / "services.json").write_text('{"services": {"x": {"name": "x"}}}')
    assert ServicesFile(home).read() == {}
