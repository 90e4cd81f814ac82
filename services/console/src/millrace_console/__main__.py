"""``python -m millrace_console``: serve the console until stopped."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import ConsoleSettings


def main() -> None:
    run_service(ConsoleSettings(), build_app)


if __name__ == "__main__":
    main()
