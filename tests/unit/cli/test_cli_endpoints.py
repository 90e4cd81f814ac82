"""Where the platform is: environment over what `up` recorded over the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import isolate
from millrace_cli.endpoints import resolve
from millrace_cli.errors import CliError, ExitCode
from millrace_cli.lifecycle import service_env
from millrace_cli.services_runtime import ServiceRecord, ServicesFile
from millrace_cli.settings import load_settings
from millrace_infra import StackConfig, StackInfo
from millrace_infra.kafka_security import ensure_credentials
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


def test_commands_act_as_their_principal_on_the_secured_local_stack(home: Path) -> None:
    write_state(StackConfig.from_base_port(31000, home=home), {})
    passwords = ensure_credentials(home / "kafka")
    s3_keys = ensure_credentials(home / "s3")
    data_team = resolve(principal="data-teams")
    settings = data_team.settings
    assert data_team.principal == "data-teams"
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_sasl_username == "millrace-data-teams"
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == passwords["millrace-data-teams"]
    assert settings.kafka_tls_cafile == str(home / "kafka" / "tls" / "ca.pem")
    # S3 as the data team's own identity (may only write landing), not the stack's root key.
    assert settings.s3_access_key == "millrace-data-teams"
    assert settings.s3_secret_key.get_secret_value() == s3_keys["millrace-data-teams"]
    assert settings.s3_region == "us-east-1"  # no GetBucketLocation, which it may not make
    operator = data_team.acting_as("operators").settings
    assert operator.kafka_sasl_username == "millrace-operators"
    assert operator.s3_access_key == "millrace-operators"
    assert resolve().settings.kafka_sasl_username is None  # no Kafka, no credentials


def test_s3_keys_from_the_environment_win(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_state(StackConfig.from_base_port(31000, home=home), {})
    ensure_credentials(home / "kafka")
    ensure_credentials(home / "s3")
    monkeypatch.setenv("MILLRACE_S3_ACCESS_KEY", "mine")
    monkeypatch.setenv("MILLRACE_S3_SECRET_KEY", "my-secret")
    settings = resolve(principal="data-teams").settings
    assert settings.s3_access_key == "mine"
    assert settings.kafka_sasl_username == "millrace-data-teams"  # Kafka still as the party


def test_kafka_credentials_from_the_environment_win(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_state(StackConfig.from_base_port(31000, home=home), {})
    ensure_credentials(home / "kafka")
    ensure_credentials(home / "s3")
    monkeypatch.setenv("MILLRACE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_USERNAME", "someone")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_PASSWORD", "their-password")
    assert resolve(principal="operators").settings.kafka_sasl_username == "someone"


def test_a_plaintext_local_stack_needs_no_credentials(home: Path) -> None:
    write_state(StackConfig.from_base_port(31000, home=home, secure=False), {})
    settings = resolve(principal="data-teams").settings
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert settings.kafka_sasl_username is None


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


def test_up_starts_each_service_as_its_own_principal(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StackConfig.from_base_port(31000, home=home)
    ensure_credentials(home / "kafka")
    s3_keys = ensure_credentials(home / "s3")
    # A shell set up as a data team must not hand its identity to the services.
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_USERNAME", "millrace-data-teams")
    env = service_env(StackInfo.for_config(config), "registry", "http://registry", home)
    assert env["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-registry"
    assert env["MILLRACE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    deployment = service_env(StackInfo.for_config(config), "deployment", "http://registry", home)
    assert deployment["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-deployment"
    assert deployment["MILLRACE_DEPLOYMENT_REGISTRY_URL"] == "http://registry"
    assert deployment["MILLRACE_S3_ACCESS_KEY"] == "millrace-deployment"
    assert deployment["MILLRACE_S3_SECRET_KEY"] == s3_keys["millrace-deployment"]
