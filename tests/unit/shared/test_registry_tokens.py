"""Registry tokens: made long enough, kept as sha256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from unittest import mock

import pytest
from millrace_shared.registry import tokens
from millrace_shared.registry.tokens import (
    MIN_TOKEN_LENGTH,
    ActorTokens,
    TokenError,
    ensure_local_token,
    hash_token,
    new_token,
    parse_tokens_file,
)


def test_a_new_token_is_long_random_and_hashes_to_sha256() -> None:
    token = new_token()
    assert len(token) >= MIN_TOKEN_LENGTH
    assert token != new_token()
    assert hash_token(token) == "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def test_a_short_token_is_never_hashed_nor_accepted() -> None:
    short = "x" * (MIN_TOKEN_LENGTH - 1)
    with pytest.raises(TokenError, match=str(MIN_TOKEN_LENGTH)):
        hash_token(short)
    # Even if its hash were configured by hand, the registry refuses it unhashed.
    digest = hashlib.sha256(short.encode()).hexdigest()
    actors = ActorTokens.from_hashes({"eve": f"sha256:{digest}"})
    assert actors.actor_for(short) is None


def test_the_actor_is_the_tokens_and_an_unknown_token_is_no_one() -> None:
    alice, bob = new_token(), new_token()
    actors = ActorTokens.from_hashes({"alice": hash_token(alice), "bob": hash_token(bob)})
    assert actors.actor_for(alice) == "alice"
    assert actors.actor_for(bob) == "bob"
    assert actors.actor_for(new_token()) is None
    assert actors.actor_for("") is None


def test_every_digest_is_compared_in_constant_time() -> None:
    alice, bob = new_token(), new_token()
    actors = ActorTokens.from_hashes({"alice": hash_token(alice), "bob": hash_token(bob)})
    with mock.patch.object(tokens.hmac, "compare_digest", wraps=hmac.compare_digest) as compare:
        assert actors.actor_for(alice) == "alice"
    # No early exit on a match: the time says nothing about which actor (if any) it was.
    assert compare.call_count == 2


def test_the_tokens_file_format() -> None:
    digest = hash_token(new_token())
    assert parse_tokens_file(f"# comment\nalice {digest}  # the lead\n\n") == {"alice": digest}
    with pytest.raises(TokenError, match="line 1"):
        parse_tokens_file("alice")
    with pytest.raises(TokenError, match="twice"):
        parse_tokens_file(f"alice {digest}\nalice {digest}\n")


def test_the_local_token_is_made_once_per_home(tmp_path: Path) -> None:
    first = ensure_local_token(tmp_path)
    assert ensure_local_token(tmp_path) == first
    assert ActorTokens.from_hashes(first.hashes).actor_for(first.token) == first.actor
    assert ensure_local_token(tmp_path / "other").token != first.token


def test_the_command_prints_the_token_once_and_the_settings_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tokens.main(["alice"]) == 0
    lines = capsys.readouterr().out.splitlines()
    token = lines[1].strip()
    assert json.loads(lines[3]) == {"alice": hash_token(token)}
    assert lines[5].strip() == f"alice {hash_token(token)}"
    assert tokens.main(["not a name"]) == 2
