"""The CLI's configuration: the shared ``MILLRACE_*`` settings plus where the services are."""

from __future__ import annotations

from millrace_shared.settings import MillraceSettings
from pydantic import SecretStr, ValidationError

from .catalog import DEFAULT_BASE_PORT
from .errors import CliError

DEV_REGISTRY_TOKEN = "millrace-dev-registry-token"
"""The registry's built-in token for ``environment=dev`` (the registry's own default)."""


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
    jaeger_url: str | None = None
    """``MILLRACE_JAEGER_URL``: Jaeger's query API / UI."""
    services_base_port: int = DEFAULT_BASE_PORT
    """``MILLRACE_SERVICES_BASE_PORT``: ingestion's port; the other four follow (``up``)."""
    registry_token: SecretStr | None = None
    """``MILLRACE_REGISTRY_TOKEN``: bearer token for promote and rollback."""

    def service_url(self, name: str) -> str | None:
        value = getattr(self, f"{name}_url", None)
        return value.rstrip("/") if isinstance(value, str) and value else None

    def registry_bearer(self) -> str:
        """The token for promote/rollback: MILLRACE_REGISTRY_TOKEN, or the dev default in dev."""
        if self.registry_token is not None and self.registry_token.get_secret_value():
            return self.registry_token.get_secret_value()
        if self.environment == "dev":
            return DEV_REGISTRY_TOKEN
        raise CliError("set MILLRACE_REGISTRY_TOKEN (the built-in token is for dev only)")


def load_settings() -> CliSettings:
    try:
        return CliSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        raise CliError(f"invalid MILLRACE_* configuration: {problems}") from error
