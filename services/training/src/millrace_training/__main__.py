"""``python -m millrace_training``: run the training service."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import TrainingSettings


def main() -> None:
    run_service(TrainingSettings(), build_app)


if __name__ == "__main__":
    main()
