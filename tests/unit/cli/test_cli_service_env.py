"""What ``millrace up`` hands each service: dev on the local stack, the person's own token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from millrace_cli.lifecycle import service_env
from millrace_infra import StackConfig, StackInfo
from millrace_infra.kafka_security import ensure_credentials
from millrace_shared.registry.tokens import ActorTokens, read_local_token

URL = "http://127.0.0.1:8103"


@pytest.fixture(autouse=True)
def no_millrace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "MILLRACE_ENVIRONMENT",
        "MILLRACE_REGISTRY_TOKENS",
        "MILLRACE_REGISTRY_TOKENS_FILE",
    ):
        monkeypatch.delenv(key, raising=False)


def test_the_local_stack_is_dev_and_the_registry_knows_the_persons_token(tmp_path: Path) -> None:
    for part in ("kafka", "s3"):  # a secured stack's home, as `up` leaves it
        ensure_credentials(tmp_path / part)
    stack = StackInfo.for_config(StackConfig.from_base_port(31000, home=tmp_path))
    env = service_env(stack, "registry", URL, tmp_path)
    assert env["MILLRACE_ENVIRONMENT"] == "dev"
    local = read_local_token(tmp_path)
    assert local is not None
    actors = ActorTokens.from_hashes(json.loads(env["MILLRACE_REGISTRY_TOKENS"]))
    assert actors.actor_for(local.token) == local.actor
    assert local.token not in json.dumps(env)  # only its hash goes to the service
    assert service_env(stack, "registry", URL, tmp_path) == env  # the same token every `up`
    assert "MILLRACE_REGISTRY_TOKENS" not in service_env(stack, "training", URL, tmp_path)


def test_a_stack_from_the_environment_keeps_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = StackInfo("kafka.example:9092", "s3.example:443", "key", "secret")
    assert "MILLRACE_ENVIRONMENT" not in service_env(stack, "ingestion", URL, tmp_path)
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKENS", '{"alice": "sha256:' + "0" * 64 + '"}')
    env = service_env(stack, "registry", URL, tmp_path)
    assert json.loads(env["MILLRACE_REGISTRY_TOKENS"]) == {"alice": "sha256:" + "0" * 64}
    assert read_local_token(tmp_path) is None


def test_on_an_existing_cluster_each_service_gets_its_own_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = StackInfo.from_env(
        {
            "MILLRACE_KAFKA_BOOTSTRAP": "kafka.example:9093",
            "MILLRACE_S3_ENDPOINT": "s3.example:443",
            "MILLRACE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "MILLRACE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "MILLRACE_KAFKA_SASL_USERNAME": "shared",
            "MILLRACE_KAFKA_SASL_PASSWORD": "shared-password",
        }
    )
    assert stack is not None
    # Without per-service settings: the one set, for every service (as before).
    assert service_env(stack, "training", URL, tmp_path)["MILLRACE_KAFKA_SASL_USERNAME"] == "shared"

    credentials = tmp_path / "users.json"
    credentials.write_text(
        json.dumps({"millrace-training": "t-pw", "millrace-registry": "r-pw", "other": "x"})
    )
    monkeypatch.setenv("MILLRACE_KAFKA_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("MILLRACE_REGISTRY_KAFKA_SASL_PASSWORD", "r-from-env")
    monkeypatch.setenv("MILLRACE_REGISTRY_S3_ACCESS_KEY", "registry-key")
    monkeypatch.setenv("MILLRACE_REGISTRY_S3_SECRET_KEY", "registry-secret")
    training = service_env(stack, "training", URL, tmp_path)
    registry = service_env(stack, "registry", URL, tmp_path)
    assert training["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-training"
    assert training["MILLRACE_KAFKA_SASL_PASSWORD"] == "t-pw"
    assert training["MILLRACE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert registry["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-registry"
    assert registry["MILLRACE_KAFKA_SASL_PASSWORD"] == "r-from-env"  # the variable wins
    assert (registry["MILLRACE_S3_ACCESS_KEY"], registry["MILLRACE_S3_SECRET_KEY"]) == (
        "registry-key",
        "registry-secret",
    )
    # No service sees another's secrets, nor the file that holds them all.
    for env in (training, registry):
        assert "MILLRACE_KAFKA_CREDENTIALS_FILE" not in env
        assert not any(k.startswith("MILLRACE_REGISTRY_S3") for k in env)
    assert "r-from-env" not in json.dumps(training)


def test_a_credentials_file_without_the_service_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from millrace_cli.errors import CliError

    stack = StackInfo("kafka.example:9092", "s3.example:443", "key", "secret")
    credentials = tmp_path / "users.json"
    credentials.write_text('{"millrace-training": "t-pw"}')
    monkeypatch.setenv("MILLRACE_KAFKA_CREDENTIALS_FILE", str(credentials))
    with pytest.raises(CliError, match="no password for millrace-monitoring"):
        service_env(stack, "monitoring", URL, tmp_path)


def test_the_console_gets_the_services_urls_kafka_as_itself_and_no_s3_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from millrace_cli.lifecycle import console_env

    monkeypatch.setenv("MILLRACE_S3_SECRET_KEY", "from-the-shell")
    for part in ("kafka", "s3"):
        ensure_credentials(tmp_path / part)
    stack = StackInfo.for_config(StackConfig.from_base_port(31000, home=tmp_path))
    urls = {
        n: f"http://127.0.0.1:{8101 + i}"
        for i, n in enumerate(("ingestion", "training", "registry", "deployment", "monitoring"))
    }
    env = console_env(stack, urls)
    assert not [k for k in env if k.startswith("MILLRACE_S3_")]
    assert env["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-console"
    assert env["MILLRACE_CONSOLE_REGISTRY_URL"] == "http://127.0.0.1:8103"
    assert json.loads(env["MILLRACE_CONSOLE_DEPLOYMENT_URLS"]) == ["http://127.0.0.1:8104"]
    assert "MILLRACE_REGISTRY_SIGNING_KEY" not in env
