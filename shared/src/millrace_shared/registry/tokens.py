"""Registry tokens: one per actor, kept by the registry only as a hash.

A token is a high-entropy random string (``secrets.token_urlsafe``, 256 bits), not a
password a person chose: a plain SHA-256 of it cannot be reversed or guessed, so a slow
password hash (bcrypt, scrypt) would cost every request time and add nothing. What makes
sha256 enough is the entropy, hence the minimum length, enforced wherever a token is made
or hashed.

The registry reads ``{"actor": "sha256:<hex>"}``; a presented token is hashed and compared
with every actor's digest in constant time, so neither the token nor which actor it is close
to leaks through timing.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MIN_TOKEN_LENGTH = 32
"""Characters. ``new_token`` makes 43 (32 random bytes, URL-safe base64)."""
HASH_PREFIX = "sha256:"
ACTOR_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
"""An actor name: what the audit trail shows, so printable and short."""
LOCAL_TOKEN_FILE = "registry-token.json"
"""In the local stack's home: the token ``millrace up`` made for the person running it."""
LOCAL_ACTOR_FALLBACK = "dev"

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class TokenError(ValueError):
    """A token, hash or actor name that is not acceptable."""


def check_actor(actor: str) -> str:
    if not ACTOR_PATTERN.fullmatch(actor):
        raise TokenError(
            f"actor {actor!r} must be 1-64 of letters, digits, '.', '_', '@', '-' "
            "(starting with a letter or digit)"
        )
    return actor


def check_token(token: str) -> str:
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(f"a registry token must have at least {MIN_TOKEN_LENGTH} characters")
    return token


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """``sha256:<hex>`` of a token at least ``MIN_TOKEN_LENGTH`` long."""
    return HASH_PREFIX + _digest(check_token(token)).hex()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_hash(value: str) -> bytes:
    """The 32-byte digest of a ``sha256:<hex>`` string (what the registry's settings hold)."""
    if not value.startswith(HASH_PREFIX) or not _HEX_DIGEST.fullmatch(value[len(HASH_PREFIX) :]):
        # A plain token here would be a secret in the settings: refuse it, say what is wanted.
        raise TokenError("a token hash is 'sha256:' followed by 64 lower-case hex digits")
    return bytes.fromhex(value[len(HASH_PREFIX) :])


@dataclass(frozen=True)
class ActorTokens:
    """Actor name to token digest; answers which actor (if any) a presented token is."""

    digests: Mapping[str, bytes]

    @classmethod
    def from_hashes(cls, hashes: Mapping[str, str]) -> ActorTokens:
        digests = {check_actor(actor): parse_hash(value) for actor, value in hashes.items()}
        seen: dict[bytes, str] = {}
        for actor, digest in digests.items():
            if digest in seen:
                # One token for two actors would make the audit's actor ambiguous.
                raise TokenError(f"actors {seen[digest]!r} and {actor!r} share a token")
            seen[digest] = actor
        return cls(digests)

    def __len__(self) -> int:
        return len(self.digests)

    def actor_for(self, token: str) -> str | None:
        """The actor whose token this is, else None (too short, unknown or empty)."""
        if len(token) < MIN_TOKEN_LENGTH:
            return None
        given = _digest(token)
        found: str | None = None
        # Every digest is compared (no early exit), each in constant time.
        for actor, digest in self.digests.items():
            if hmac.compare_digest(given, digest):
                found = actor
        return found


def parse_tokens_file(text: str) -> dict[str, str]:
    """``ACTOR sha256:<hex>`` per line; blank lines and ``#`` comments are skipped."""
    hashes: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenError(f"line {number}: expected 'ACTOR sha256:<hex>'")
        actor, value = parts
        if actor in hashes:
            raise TokenError(f"line {number}: actor {actor!r} appears twice")
        hashes[actor] = value
    return hashes


@dataclass(frozen=True)
class LocalToken:
    actor: str
    token: str

    @property
    def hashes(self) -> dict[str, str]:
        return {self.actor: hash_token(self.token)}


def local_actor() -> str:
    """The person running the local stack (their login), as an actor name."""
    try:
        name = re.sub(r"[^A-Za-z0-9._@-]", "-", getpass.getuser())[:64]
    except (KeyError, OSError):
        return LOCAL_ACTOR_FALLBACK
    return name if ACTOR_PATTERN.fullmatch(name) else LOCAL_ACTOR_FALLBACK


def read_local_token(home: Path) -> LocalToken | None:
    try:
        payload = json.loads((home / LOCAL_TOKEN_FILE).read_text())
        return LocalToken(check_actor(payload["actor"]), check_token(payload["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_local_token(home: Path) -> LocalToken:
    """The local stack's token for the person running it: made once per stack home (0600).

    Random per home, so no token ships in the code; only ``millrace up`` and the CLI on
    this machine read it.
    """
    existing = read_local_token(home)
    if existing is not None:
        return existing
    made = LocalToken(local_actor(), new_token())
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCAL_TOKEN_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"actor": made.actor, "token": made.token}, out)
    tmp.replace(path)
    # Two `up`s racing: whichever rename landed last wins; both read the same file after.
    return read_local_token(home) or made


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m millrace_registry.tokens ACTOR``: a new token, printed once, and its hash."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print("usage: python -m millrace_registry.tokens ACTOR", file=sys.stderr)
        return 2
    try:
        actor = check_actor(args[0])
    except TokenError as error:
        print(error, file=sys.stderr)
        return 2
    token = new_token()
    digest = hash_token(token)
    print(f"token for {actor} (shown once; give it to them as MILLRACE_REGISTRY_TOKEN):")
    print(f"  {token}")
    print("for the registry, add to MILLRACE_REGISTRY_TOKENS (JSON):")
    print(f"  {json.dumps({actor: digest})}")
    print("or as a line of MILLRACE_REGISTRY_TOKENS_FILE:")
    print(f"  {actor} {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
