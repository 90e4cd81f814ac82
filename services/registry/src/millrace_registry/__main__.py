"""``python -m millrace_registry``: the registry service (Kafka consumer + REST API)."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import RegistrySettings


def main() -> None:
    settings = RegistrySettings()
    # run_service hands back the base settings type; the registry's own are these.
    run_service(
        settings,
        lambda _, provider: build_app(settings, provider),
        host=settings.http_host,
        port=settings.http_port,
    )


if __name__ == "__main__":
    main()
