"""``python -m millrace_deployment``: serve predictions and consume promotions until stopped."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import DeploymentSettings


def main() -> None:
    run_service(DeploymentSettings(), build_app)


if __name__ == "__main__":
    main()
