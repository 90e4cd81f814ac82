"""The chaos soak's CI form: ``scripts/soak`` for 3 minutes on a single broker (the
3-broker topology is left to a manual ``scripts/soak --brokers 3``), with kills of random
services, a 10 s S3 outage and ``--seed-loss``, in one run so the stack starts once.

One run shows both halves: the seeded loss is the only arrival counted lost and it makes the
soak exit 1, while everything else is clean (every other arrival decided, no duplicate model
version, no failed prediction request), so without it the verdict is 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[2]
MINUTES = os.environ.get("MILLRACE_SOAK_CI_MINUTES", "3")


def test_the_soak_counts_the_seeded_loss_and_nothing_else(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    # fmt: off
    argv = [
        sys.executable, "-m", "tests.soak",
        "--minutes", MINUTES,
        "--chaos-interval", "15",
        "--s3-outage-seconds", "10",
        "--seed-loss",
        "--home", str(tmp_path / "home"),
        "--report", str(report_path),
    ]
    # fmt: on
    # SIGTERM, not SIGKILL, if it overruns: the soak then stops the stack it started.
    soak = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = soak.communicate(timeout=540)  # within pytest's own 600 s timeout
    finally:
        if soak.poll() is None:
            soak.terminate()
            soak.communicate(timeout=120)
    assert report_path.exists(), stderr[-5000:]
    report = json.loads(report_path.read_text())
    counts = report["counts"]
    details = f"{json.dumps(report, indent=1)[-4000:]}\n{stderr[-3000:]}"
    assert soak.returncode == 1, details
    assert report["seeded_loss"] and counts["lost"] == [report["seeded_loss"]], details
    assert report["exit_code_without_seeded_loss"] == 0, details
    assert counts["arrivals"] > 10, details
    assert counts["decided"] == counts["arrivals"] - 1, details
    assert counts["validated"] > 0 and counts["rejected"] > 0, details
    assert counts["model_versions"] > 0 and counts["duplicate_versions"] == 0, details
    assert report["predictions_ok"] > 0 and report["failed_requests"] == 0, details
    assert report["settled"], details
    kills = [line for line in report["chaos"] if "kill -9" in line]
    assert kills and any("S3 stopped" in line for line in report["chaos"]), details
