from __future__ import annotations

import pytest
from millrace_registry.settings import DEV_REGISTRY_TOKEN, RegistrySettings
from millrace_shared.signing import SigningKey
from pydantic import SecretStr, ValidationError


def prod() -> RegistrySettings:
    return RegistrySettings(environment="prod", s3_access_key="key", s3_secret_key=SecretStr("x"))


@pytest.fixture(autouse=True)
def no_token_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILLRACE_REGISTRY_TOKEN", raising=False)
    monkeypatch.delenv("MILLRACE_ENVIRONMENT", raising=False)


def test_dev_has_a_built_in_token_and_the_registry_defaults() -> None:
    settings = RegistrySettings()
    assert settings.registry_token.get_secret_value() == DEV_REGISTRY_TOKEN
    assert (settings.service_name, settings.http_port) == ("registry", 8103)


def test_outside_dev_the_token_must_be_set() -> None:
    with pytest.raises(ValidationError, match="MILLRACE_REGISTRY_TOKEN"):
        prod()


def test_outside_dev_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKEN", "s3cr3t")
    monkeypatch.setenv("MILLRACE_REGISTRY_SIGNING_KEY", SigningKey.generate().to_base64())
    settings = prod()
    assert settings.registry_token.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


def test_an_empty_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKEN", " ")
    with pytest.raises(ValidationError, match="must not be empty"):
        RegistrySettings()
