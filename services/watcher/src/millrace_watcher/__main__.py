"""``python -m millrace_watcher``: serve health, poll the landing bucket until stopped."""

from __future__ import annotations

from millrace_shared.service import run_service

from .bootstrap import build_app
from .settings import WatcherSettings


def main() -> None:
    run_service(WatcherSettings(), build_app)


if __name__ == "__main__":
    main()
