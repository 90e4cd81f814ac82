"""The console's configuration: where each service answers, and the session's secret."""

from __future__ import annotations

import secrets
from typing import Self

from millrace_shared.settings import ServiceSettings
from pydantic import AliasChoices, Field, SecretStr, model_validator


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    """Name used in traces and logs."""
    http_port: int = Field(default=8107, ge=1, le=65535)

    registry_url: str = Field(
        default="http://127.0.0.1:8103", validation_alias="MILLRACE_CONSOLE_REGISTRY_URL"
    )
    ingestion_url: str = Field(
        default="http://127.0.0.1:8101", validation_alias="MILLRACE_CONSOLE_INGESTION_URL"
    )
    training_url: str = Field(
        default="http://127.0.0.1:8102", validation_alias="MILLRACE_CONSOLE_TRAINING_URL"
    )
    monitoring_url: str = Field(
        default="http://127.0.0.1:8105", validation_alias="MILLRACE_CONSOLE_MONITORING_URL"
    )
    deployment_urls: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8104"],
        validation_alias="MILLRACE_CONSOLE_DEPLOYMENT_URLS",
    )
    """Every deployment replica (a JSON list): the serving page asks each for what it serves."""
    zipkin_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MILLRACE_CONSOLE_ZIPKIN_URL", "MILLRACE_ZIPKIN_URL"),
    )
    """The trace UI's base, e.g. ``http://127.0.0.1:9411`` (the local stack sets
    ``MILLRACE_ZIPKIN_URL``): each flow links to its trace there (``/zipkin/traces/<id>``); no
    trace links when unset."""
    session_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        validation_alias="MILLRACE_CONSOLE_SESSION_SECRET",
    )
    """Signs the session cookie (which holds the logged-in person's registry token). Random
    per process when unset: sessions then end with the process, and replicas behind one
    address need the same value."""
    secure_cookies: bool = Field(default=False, validation_alias="MILLRACE_CONSOLE_SECURE_COOKIES")
    """Mark the session cookie ``Secure`` (set it when the console is served over HTTPS)."""
    backend_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias="MILLRACE_CONSOLE_BACKEND_TIMEOUT_SECONDS"
    )

    @model_validator(mode="after")
    def _no_dev_secrets_outside_dev(self) -> Self:
        # Replaces the shared check: the console never uses S3 (REST APIs, and Kafka for dead
        # letters as millrace-console), so it needs no S3 keys, in dev or prod.
        return self
