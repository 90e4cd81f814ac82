from __future__ import annotations

import json
from pathlib import Path

import pytest
from millrace_registry.settings import RegistrySettings
from millrace_shared.registry.tokens import hash_token
from millrace_shared.signing import SigningKey
from pydantic import SecretStr, ValidationError

ALICE = "a" * 43
BOB = "b" * 43


def prod(**values: object) -> RegistrySettings:
    return RegistrySettings(
        environment="prod",
        s3_access_key="key",
        s3_secret_key=SecretStr("x"),
        registry_signing_key=SecretStr(SigningKey.generate().to_base64()),
        **values,
    )


@pytest.fixture(autouse=True)
def no_tokens_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "MILLRACE_REGISTRY_TOKENS",
        "MILLRACE_REGISTRY_TOKENS_FILE",
        "MILLRACE_ENVIRONMENT",
    ):
        monkeypatch.delenv(key, raising=False)


def test_a_bare_registry_is_prod_and_refuses_the_dev_secrets() -> None:
    with pytest.raises(ValidationError, match="MILLRACE_S3_SECRET_KEY"):
        RegistrySettings()


def test_the_registry_defaults_and_no_actor_by_default() -> None:
    settings = prod()
    assert settings.environment == "prod"
    assert (settings.service_name, settings.http_port) == ("registry", 8103)
    assert len(settings.actor_tokens()) == 0


def test_actors_come_from_the_environment_as_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = {"alice": hash_token(ALICE), "bob": hash_token(BOB)}
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKENS", json.dumps(hashes))
    actors = prod().actor_tokens()
    assert (actors.actor_for(ALICE), actors.actor_for(BOB)) == ("alice", "bob")


def test_and_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# who may promote\nalice {hash_token(ALICE)}\n\n")
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKENS_FILE", str(path))
    monkeypatch.setenv("MILLRACE_REGISTRY_TOKENS", json.dumps({"bob": hash_token(BOB)}))
    actors = prod().actor_tokens()
    assert (actors.actor_for(ALICE), actors.actor_for(BOB)) == ("alice", "bob")


@pytest.mark.parametrize(
    "tokens",
    [
        {"alice": ALICE},  # a plain token where a hash belongs
        {"alice": "sha256:1234"},
        {"not a name": hash_token(ALICE)},
        {"alice": hash_token(ALICE), "bob": hash_token(ALICE)},
    ],
)
def test_bad_token_settings_are_refused(tokens: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="MILLRACE_REGISTRY_TOKENS"):
        prod(registry_tokens=tokens)


def test_an_actor_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"alice {hash_token(BOB)}\n")
    with pytest.raises(ValidationError, match="both"):
        prod(registry_tokens={"alice": hash_token(ALICE)}, registry_tokens_file=path)
