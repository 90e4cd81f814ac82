"""``millrace registry token ACTOR``: a new token, shown once, and the hash for the registry."""

from __future__ import annotations

import json

from millrace_cli.main import app
from millrace_shared.registry.tokens import MIN_TOKEN_LENGTH, hash_token
from millrace_shared.signing import SigningKey, VerifyKey
from typer.testing import CliRunner


def test_registry_token_prints_a_token_and_its_hash_once() -> None:
    result = CliRunner().invoke(app, ["registry", "token", "alice"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    made = lines[1].strip()
    assert len(made) >= MIN_TOKEN_LENGTH
    assert json.loads(lines[3]) == {"alice": hash_token(made)}
    assert lines[5].strip() == f"alice {hash_token(made)}"
    refused = CliRunner().invoke(app, ["registry", "token", "not a name"])
    assert refused.exit_code == 64


def test_registry_keypair_prints_a_pair_that_signs_and_verifies() -> None:
    result = CliRunner().invoke(app, ["registry", "keypair"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    private, public = SigningKey.parse(lines[1].strip()), VerifyKey.parse(lines[3].strip())
    assert private.public.key_id == public.key_id
    public.verify(b"facts", private.sign(b"facts"))
