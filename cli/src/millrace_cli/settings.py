"""The CLI's configuration: the shared ``MILLRACE_*`` settings plus where the services are."""

from __future__ import annotations

import os
from pathlib import Path

from millrace_infra import StackInfo
from millrace_shared.registry.tokens import read_local_token
from millrace_shared.settings import MillraceSettings
from pydantic import SecretStr, ValidationError

from .catalog import DEFAULT_BASE_PORT
from .errors import CliError


class CliSettings(MillraceSettings):
    """``MILLRACE_*`` variables; unset endpoints come from the local stack and ``up``."""

    service_name: str = "cli"
    ingestion_url: str | None = None
    """``MILLRACE_INGESTION_URL``: the ingestion service, e.g. ``http://127.0.0.1:8101``."""
    training_url: str | None = None
    """``MILLRACE_TRAINING_URL``."""
    registry_url: str | None = None
    """``MILLRACE_REGISTRY_URL``."""
    deployment_url: str | None = None
    """``MILLRACE_DEPLOYMENT_URL``."""
    monitoring_url: str | None = None
    """``MILLRACE_MONITORING_URL``."""
    zipkin_url: str | None = None
    """``MILLRACE_ZIPKIN_URL``: Zipkin's base URL (query API, UI at /zipkin/)."""
    watcher_url: str | None = None
    """``MILLRACE_WATCHER_URL``: the landing watcher (health only)."""
    jaeger_url: str | None = None
    """``MILLRACE_JAEGER_URL``: a Jaeger query API / UI, read when no Zipkin is set."""
    services_base_port: int = DEFAULT_BASE_PORT
    """``MILLRACE_SERVICES_BASE_PORT``: ingestion's port; the other five follow (``up``)."""
    registry_token: SecretStr | None = None
    """``MILLRACE_REGISTRY_TOKEN``: bearer token for promote and rollback."""

    def service_url(self, name: str) -> str | None:
        value = getattr(self, f"{name}_url", None)
        return value.rstrip("/") if isinstance(value, str) and value else None

    def registry_bearer(self, home: Path) -> str | None:
        """Your token for promote/rollback: MILLRACE_REGISTRY_TOKEN, else the one ``millrace up``
        made for you in the local stack's home; None (the registry will say 401) if neither."""
        if self.registry_token is not None and self.registry_token.get_secret_value():
            return self.registry_token.get_secret_value()
        local = read_local_token(home)
        return local.token if local is not None else None


def load_settings() -> CliSettings:
    # Services default to prod; the CLI is the local stack's front end, so it is dev when it
    # talks to that stack (no Kafka/S3 from the environment) unless told otherwise.
    local = "MILLRACE_ENVIRONMENT" not in os.environ and StackInfo.from_env() is None
    try:
        return CliSettings(environment="dev") if local else CliSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        raise CliError(f"invalid MILLRACE_* configuration: {problems}") from error
