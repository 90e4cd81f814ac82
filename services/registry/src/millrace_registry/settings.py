"""Registry settings: the shared ones plus the REST API's address and the actors' tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from millrace_shared.registry.tokens import ActorTokens, TokenError, parse_tokens_file
from millrace_shared.settings import ServiceSettings
from millrace_shared.signing import InvalidKey, SigningKey
from pydantic import Field, SecretStr, model_validator


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    """Name used in traces, logs, DLQ headers and the Kafka consumer group."""
    http_port: int = Field(default=8103, ge=1, le=65535)
    registry_tokens: dict[str, str] = Field(default_factory=dict)
    """``MILLRACE_REGISTRY_TOKENS``: JSON ``{"actor": "sha256:<hex>"}``, who may promote and
    roll back. Only hashes: make a token and its hash with
    ``python -m millrace_registry.tokens ACTOR``. The audit's actor is the token's."""
    registry_tokens_file: Path | None = None
    """``MILLRACE_REGISTRY_TOKENS_FILE``: more actors, one ``ACTOR sha256:<hex>`` per line
    (e.g. a mounted secret); read at start-up."""
    registry_prefix: str = Field(default="registry", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """Key prefix of the registry's documents in its state bucket (``<bucket_state>-registry``)."""

    @model_validator(mode="after")
    def _tokens_are_hashes(self) -> Self:
        try:
            self.actor_tokens()
        except (TokenError, OSError) as error:
            raise ValueError(f"MILLRACE_REGISTRY_TOKENS(_FILE): {error}") from error
        return self

    registry_signing_key: SecretStr | None = None
    """Ed25519 private key (PEM or base64 of the raw 32 bytes) every promotion is signed with
    (ADR 0007); ``MILLRACE_REGISTRY_SIGNING_KEY``, shared by all registry replicas. Required
    outside dev; in dev without one promotions go out unsigned (``millrace up`` generates a
    key per stack home, so the local stack signs)."""

    @model_validator(mode="after")
    def _signing_key_outside_dev(self) -> Self:
        if self.registry_signing_key is None or not self.registry_signing_key.get_secret_value():
            if self.environment != "dev":
                raise ValueError("MILLRACE_REGISTRY_SIGNING_KEY must be set outside dev")
            return self
        try:
            SigningKey.parse(self.registry_signing_key.get_secret_value())
        except InvalidKey as error:
            raise ValueError(f"MILLRACE_REGISTRY_SIGNING_KEY: {error}") from None
        return self

    def signing_key(self) -> SigningKey | None:
        key = self.registry_signing_key
        if key is None or not key.get_secret_value():
            return None
        return SigningKey.parse(key.get_secret_value())

    def actor_tokens(self) -> ActorTokens:
        """Every actor of ``registry_tokens`` and ``registry_tokens_file``; none may repeat."""
        hashes = dict(self.registry_tokens)
        if self.registry_tokens_file is not None:
            for actor, value in parse_tokens_file(self.registry_tokens_file.read_text()).items():
                if actor in hashes:
                    raise TokenError(f"actor {actor!r} is in both the variable and the file")
                hashes[actor] = value
        return ActorTokens.from_hashes(hashes)
