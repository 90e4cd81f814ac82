"""Registry settings: the shared ones plus the REST API's address and the actors' tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from millrace_shared.registry.tokens import ActorTokens, TokenError, parse_tokens_file
from millrace_shared.settings import ServiceSettings
from pydantic import Field, model_validator


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
    """Key prefix of the registry's documents in ``bucket_state``."""

    @model_validator(mode="after")
    def _tokens_are_hashes(self) -> Self:
        try:
            self.actor_tokens()
        except (TokenError, OSError) as error:
            raise ValueError(f"MILLRACE_REGISTRY_TOKENS(_FILE): {error}") from error
        return self

    def actor_tokens(self) -> ActorTokens:
        """Every actor of ``registry_tokens`` and ``registry_tokens_file``; none may repeat."""
        hashes = dict(self.registry_tokens)
        if self.registry_tokens_file is not None:
            for actor, value in parse_tokens_file(self.registry_tokens_file.read_text()).items():
                if actor in hashes:
                    raise TokenError(f"actor {actor!r} is in both the variable and the file")
                hashes[actor] = value
        return ActorTokens.from_hashes(hashes)
