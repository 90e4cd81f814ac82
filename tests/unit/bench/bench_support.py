"""The one way the bench smoke tests run the bench: ``python -m bench`` in quick mode, as its
own process from the repository root, without installing the baselines' envs or profiling."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class BenchRun:
    data: dict[str, Any]
    """The results JSON."""
    table: str
    """The results table (Markdown)."""
    stderr: str
    """The run's stderr (progress and errors), for assertion messages."""


def run_bench(tmp_path: Path, only: str, *, timeout: float) -> BenchRun:
    """``bench --quick --only ONLY`` with its results and work under ``tmp_path``; asserts
    that it exited 0."""
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--no-install",
            "--no-profile",
            "--only",
            only,
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    name = f"latest-quick-only-{only.replace(',', '-')}"
    data: dict[str, Any] = json.loads((out / f"{name}.json").read_text())
    return BenchRun(data, (out / f"{name}.md").read_text(), done.stderr)
