"""``python -m millrace_registry``: the registry service (Kafka consumer + REST API)."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import RegistrySettings


def main() -> None:
    run_service(RegistrySettings(), build_app)


if __name__ == "__main__":
    main()
