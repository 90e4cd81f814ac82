"""``python -m millrace_ingestion``: serve the REST API and consume until stopped."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import IngestionSettings


def main() -> None:
    run_service(IngestionSettings(), build_app)


if __name__ == "__main__":
    main()
