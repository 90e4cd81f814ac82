"""Registry settings: the shared ones plus the REST API's address and bearer token."""

from __future__ import annotations

from typing import Self

from millrace_shared.settings import ServiceSettings
from millrace_shared.signing import InvalidKey, SigningKey
from pydantic import Field, SecretStr, model_validator

DEV_REGISTRY_TOKEN = "millrace-dev-registry-token"


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    """Name used in traces, logs, DLQ headers and the Kafka consumer group."""
    http_port: int = Field(default=8103, ge=1, le=65535)
    registry_token: SecretStr = SecretStr(DEV_REGISTRY_TOKEN)
    """Bearer token that ``POST /models/{name}/promote`` and ``/rollback`` demand.

    The built-in value is for ``environment=dev`` only; elsewhere set ``MILLRACE_REGISTRY_TOKEN``.
    """
    registry_prefix: str = Field(default="registry", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """Key prefix of the registry's documents in ``bucket_state``."""

    @model_validator(mode="after")
    def _no_dev_token_outside_dev(self) -> Self:
        token = self.registry_token.get_secret_value()
        if not token.strip():
            raise ValueError("MILLRACE_REGISTRY_TOKEN must not be empty")
        if self.environment != "dev" and token == DEV_REGISTRY_TOKEN:
            raise ValueError(
                "MILLRACE_REGISTRY_TOKEN must be set outside dev "
                "(the built-in token is for the local stack only)"
            )
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
