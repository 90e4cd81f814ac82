"""Ed25519 signatures of promotions: the registry signs, deployment verifies (ADR 0007).

Keys are given as settings, either PEM (PKCS#8 private key, SubjectPublicKeyInfo public key) or
the base64 of the raw 32-byte key. ``ensure_keypair`` writes one pair per stack home, so the
local stack never runs on a key that is written down anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from millrace_contracts import PromotionSignature

PRIVATE_KEY_FILE = "promotion-signing.key"
PUBLIC_KEY_FILE = "promotion-signing.pub"
_RAW = serialization.Encoding.Raw


class InvalidKey(ValueError):
    """A key setting that is neither PEM nor the base64 of a raw 32-byte Ed25519 key."""


class PromotionUnverified(Exception):
    """A promotion the registry's key does not vouch for; ``code`` says why."""

    UNSIGNED = "unsigned_promotion"
    UNKNOWN_KEY = "unknown_signing_key"
    BAD_SIGNATURE = "bad_signature"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def key_id(public: Ed25519PublicKey) -> str:
    """Short, stable name of a public key: the first 16 hex digits of the raw key's SHA-256."""
    raw = public.public_bytes(_RAW, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _decode(text: str) -> bytes | None:
    """The raw bytes of a base64 setting, or None if ``text`` is PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidKey("not base64 and not PEM") from error


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        raw = _decode(text)
        try:
            if raw is not None:
                return cls(Ed25519PrivateKey.from_private_bytes(raw))
            loaded = serialization.load_pem_private_key(text.strip().encode(), password=None)
        except ValueError as error:
            raise InvalidKey(f"not an Ed25519 private key: {error}") from error
        if not isinstance(loaded, Ed25519PrivateKey):
            raise InvalidKey("the PEM private key is not an Ed25519 key")
        return cls(loaded)

    @property
    def public(self) -> VerifyKey:
        return VerifyKey(self.private.public_key())

    def sign(self, facts: bytes) -> PromotionSignature:
        value = base64.b64encode(self.private.sign(facts)).decode("ascii")
        return PromotionSignature(key_id=self.public.key_id, value=value)

    def to_base64(self) -> str:
        raw = self.private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class VerifyKey:
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> VerifyKey:
        raw = _decode(text)
        try:
            if raw is not None:
                return cls(Ed25519PublicKey.from_public_bytes(raw))
            loaded = serialization.load_pem_public_key(text.strip().encode())
        except ValueError as error:
            raise InvalidKey(f"not an Ed25519 public key: {error}") from error
        if not isinstance(loaded, Ed25519PublicKey):
            raise InvalidKey("the PEM public key is not an Ed25519 key")
        return cls(loaded)

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def verify(self, facts: bytes | None, signature: PromotionSignature | None) -> None:
        """Return if ``signature`` is this key's over ``facts``; raise PromotionUnverified."""
        if facts is None or signature is None:
            raise PromotionUnverified(
                PromotionUnverified.UNSIGNED, "the promotion carries no sequence and signature"
            )
        if signature.key_id != self.key_id:
            raise PromotionUnverified(
                PromotionUnverified.UNKNOWN_KEY,
                f"signed with key {signature.key_id!r}, expected the registry's {self.key_id!r}",
            )
        try:
            self.public.verify(base64.b64decode(signature.value, validate=True), facts)
        except (InvalidSignature, binascii.Error, ValueError) as error:
            raise PromotionUnverified(
                PromotionUnverified.BAD_SIGNATURE,
                "the signature does not match the promotion's facts",
            ) from error

    def to_base64(self) -> str:
        raw = self.public.public_bytes(_RAW, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class KeyPair:
    private: str
    """Base64 of the raw private key: for the registry only."""
    public: str
    """Base64 of the raw public key: for every deployment replica."""


def ensure_keypair(directory: Path) -> KeyPair:
    """The promotion-signing pair kept in ``directory`` (e.g. a stack home), made on first use.

    The private key file is created owner-only; an existing pair is kept, so every process
    started for one home trusts the same registry.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    if not private_path.exists():
        key = SigningKey.generate()
        # O_EXCL: of two processes creating it at once, one wins and the other reads its key.
        try:
            fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(key.to_base64() + "\n")
    signing = SigningKey.parse(private_path.read_text(encoding="ascii"))
    public = signing.public.to_base64()
    if not public_path.exists() or public_path.read_text(encoding="ascii").strip() != public:
        public_path.write_text(public + "\n", encoding="ascii")
    return KeyPair(private=signing.to_base64(), public=public)
