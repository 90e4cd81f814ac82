"""``up`` hands the home's promotion-signing key to the registry only, its public half to
deployment only (ADR 0007)."""

from __future__ import annotations

from pathlib import Path

import pytest
from millrace_cli.lifecycle import PUBLIC_KEY_ENV, SIGNING_KEY_ENV, service_env
from millrace_infra import StackInfo
from millrace_shared.signing import ensure_keypair

STACK = StackInfo(kafka_bootstrap="k:1", s3_endpoint="s:2", s3_access_key="a", s3_secret_key="b")


def test_each_service_gets_only_its_half(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PUBLIC_KEY_ENV, raising=False)
    # A key left in the shell reaches the registry only.
    monkeypatch.setenv(SIGNING_KEY_ENV, "from-the-shell")
    keys = ensure_keypair(tmp_path)
    registry = service_env(STACK, "registry", "http://r", tmp_path, keys)
    deployment = service_env(STACK, "deployment", "http://r", tmp_path, keys)
    assert registry[SIGNING_KEY_ENV] == "from-the-shell" and PUBLIC_KEY_ENV not in registry
    assert deployment[PUBLIC_KEY_ENV] == keys.public and SIGNING_KEY_ENV not in deployment
    for other in ("ingestion", "training", "monitoring"):
        env = service_env(STACK, other, "http://r", tmp_path, keys)
        assert SIGNING_KEY_ENV not in env and PUBLIC_KEY_ENV not in env
    monkeypatch.delenv(SIGNING_KEY_ENV)
    assert (
        service_env(STACK, "registry", "http://r", tmp_path, keys)[SIGNING_KEY_ENV] == keys.private
    )
