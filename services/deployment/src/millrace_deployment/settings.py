"""Deployment's configuration: the shared ``MILLRACE_*`` settings plus its own."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import Self

from millrace_shared.settings import ServiceSettings
from millrace_shared.signing import InvalidKey, VerifyKey
from pydantic import Field, model_validator

# Interfaces that mean "every address": no use to a client, so the public URL names the host.
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def default_replica_id() -> str:
    """The host name plus a random suffix: two processes on one host are two replicas."""
    host = socket.gethostname().lower() or "deployment"
    return f"{host}-{secrets.token_hex(3)}"


class DeploymentSettings(ServiceSettings):
    service_name: str = "deployment"
    """Name used in traces, logs, DLQ headers and the Kafka client id."""
    http_port: int = Field(default=8104, ge=1, le=65535)

    registry_url: str = Field(
        default="http://127.0.0.1:8103", validation_alias="MILLRACE_DEPLOYMENT_REGISTRY_URL"
    )
    """Registry REST API, asked at start-up which version of each model is in production."""
    registry_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias="MILLRACE_DEPLOYMENT_REGISTRY_TIMEOUT_SECONDS"
    )
    """Timeout of each registry request at start-up."""
    registry_retry_initial_seconds: float = Field(
        default=0.5, gt=0, validation_alias="MILLRACE_DEPLOYMENT_REGISTRY_RETRY_INITIAL_SECONDS"
    )
    """First wait before asking an unanswering registry for the start-up snapshot again; it
    doubles after each failure, up to registry_retry_max_seconds."""
    registry_retry_max_seconds: float = Field(
        default=30.0, gt=0, validation_alias="MILLRACE_DEPLOYMENT_REGISTRY_RETRY_MAX_SECONDS"
    )
    """Longest wait between two asks for the start-up snapshot."""
    replica_id: str = Field(
        default_factory=default_replica_id,
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        validation_alias="MILLRACE_DEPLOYMENT_REPLICA_ID",
    )
    """This replica's name; its consumer group is ``millrace-deployment-<replica_id>``. Set it
    to a stable name to resume from the group's committed offsets after a restart."""
    public_url: str | None = Field(default=None, validation_alias="MILLRACE_DEPLOYMENT_PUBLIC_URL")
    """Base URL clients reach this replica at (in ``model.deployed``); from the host and port
    when unset."""
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, validation_alias="MILLRACE_DEPLOYMENT_MAX_BODY_BYTES"
    )
    """Largest prediction request body accepted; larger ones get 413."""
    max_batch_rows: int = Field(
        default=1000, ge=1, validation_alias="MILLRACE_DEPLOYMENT_MAX_BATCH_ROWS"
    )
    """Most rows in one batch request; more get 413."""
    log_buffer_size: int = Field(
        default=10_000, ge=1, validation_alias="MILLRACE_DEPLOYMENT_LOG_BUFFER_SIZE"
    )
    """Prediction logs held for publishing; when full the oldest are dropped (and counted)."""
    log_batch_size: int = Field(
        default=500, ge=1, validation_alias="MILLRACE_DEPLOYMENT_LOG_BATCH_SIZE"
    )
    """Most predictions in one ``predictions.logged`` event (mind Kafka's 1 MB record limit)."""
    log_flush_interval_seconds: float = Field(
        default=0.5, gt=0, validation_alias="MILLRACE_DEPLOYMENT_LOG_FLUSH_INTERVAL_SECONDS"
    )
    """Longest a prediction log waits in the buffer when fewer than a batch are queued."""
    work_dir: Path | None = Field(default=None, validation_alias="MILLRACE_DEPLOYMENT_WORK_DIR")
    """Where artifacts are downloaded while being loaded; the system temp dir when unset."""
    max_artifact_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        validation_alias="MILLRACE_DEPLOYMENT_MAX_ARTIFACT_BYTES",
    )
    """Largest model artifact loaded. A bigger one is refused after a stat, before any byte is
    read (``deployment.failed``, ``artifact_too_large``); the current model keeps serving."""

    registry_public_key: str | None = Field(
        default=None, validation_alias="MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY"
    )
    """The registry's Ed25519 public key (PEM or base64 of the raw 32 bytes): every promotion
    must carry its signature (ADR 0007). Required outside dev; in dev without one nothing is
    verified (``millrace up`` hands each replica the key of its stack home's registry)."""

    @model_validator(mode="after")
    def _public_key_outside_dev(self) -> Self:
        if not self.registry_public_key:
            if self.environment != "dev":
                raise ValueError("MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY must be set outside dev")
            return self
        try:
            VerifyKey.parse(self.registry_public_key)
        except InvalidKey as error:
            raise ValueError(f"MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY: {error}") from None
        return self

    def verify_key(self) -> VerifyKey | None:
        return VerifyKey.parse(self.registry_public_key) if self.registry_public_key else None

    @property
    def endpoint_base(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = socket.gethostname() if self.http_host in _WILDCARDS else self.http_host
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{self.http_port}"

    @property
    def consumer_group(self) -> str:
        """Per replica, so that every replica receives every promotion."""
        return f"millrace-{self.service_name}-{self.replica_id}"
