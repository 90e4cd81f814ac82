"""``python -m millrace_deployment``: serve predictions and consume promotions until stopped."""

from __future__ import annotations

from fastapi import FastAPI
from millrace_shared.service import run_service
from millrace_shared.settings import MillraceSettings
from opentelemetry.sdk.trace import TracerProvider

from .bootstrap import build_app
from .settings import DeploymentSettings


def main() -> None:
    settings = DeploymentSettings()

    def app_factory(_: MillraceSettings, provider: TracerProvider) -> FastAPI:
        return build_app(settings, provider)

    run_service(settings, app_factory, host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
