"""Registry settings: the shared ones plus the REST API's address and bearer token."""

from __future__ import annotations

from typing import Self

from millrace_shared.settings import ServiceSettings
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
