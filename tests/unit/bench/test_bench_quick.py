"""The bench's quick mode, run the way CI may run it: only to keep it from rotting.

Nothing here asserts on a time, a rate or a ratio: the test machine is shared and noisy, and
speed goals belong to ``bench/run``'s table, not to the test suite. What is checked: the
command runs, writes its table, every benchmark asked for produced its rows (or says why
not), and the correctness parts hold (same predictions from every server, injected drift
flagged).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench.loadgen import Response, build_requests  # noqa: E402
from bench.results import Results, Row, now  # noqa: E402
from bench.stats import Ratio, at_least, at_most, percentile, ratios  # noqa: E402


def _bench(tmp_path: Path, only: str) -> tuple[dict[str, Any], str]:
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
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    name = f"latest-quick-only-{only.replace(',', '-')}"
    data = json.loads((out / f"{name}.json").read_text())
    return data, (out / f"{name}.md").read_text()


def _failures(data: dict[str, Any]) -> list[dict[str, str]]:
    """Skips other than a baseline whose environment is not installed (CI installs none)."""
    return [s for s in data["skipped"] if "is missing" not in s["why"]]


def test_drift_quick(tmp_path: Path) -> None:
    data, table = _bench(tmp_path, "7")
    assert _failures(data) == []
    rows = {r["bench"]: r for r in data["rows"]}
    assert {"7/10k", "7/100k", "7/far 500", "7/far 10k", "7/far 100k"} <= set(rows)
    for name in ("7/10k", "7/100k"):
        assert rows[name]["millrace_value"] is not None
        assert "every injected column in every round: yes" in rows[name]["notes"]
    assert "| 7/10k |" in table


def test_serving_quick(tmp_path: Path) -> None:
    data, table = _bench(tmp_path, "2,4")
    assert _failures(data) == []
    rows = {r["bench"]: r for r in data["rows"]}
    assert {"2/hgb", "2/logreg", "4/hgb", "4/logreg"} <= set(rows)
    for row in rows.values():
        assert row["millrace_value"] is not None and row["baseline_value"] is not None
    agreement = data["facts"]["same_predictions_on_20_rows"]
    assert all(all(same.values()) for same in agreement.values())
    assert "| 2/hgb |" in table


def test_monitoring_and_freshness_quick(tmp_path: Path) -> None:
    """The Kafka-heavy benchmarks: services and the raw-consumer floor on the secured stack,
    each as its own principal."""
    data, table = _bench(tmp_path, "5,8")
    assert _failures(data) == []
    rows = {r["bench"]: r for r in data["rows"]}
    assert {"5", "8"} <= set(rows)
    assert rows["5"]["millrace_value"] is not None and rows["5"]["baseline_value"] is not None
    assert rows["8"]["millrace_value"] is not None
    assert "| 5 |" in table


def test_ratios_pair_rounds() -> None:
    ratio = ratios([10.0, 20.0, 30.0], [5.0, 10.0, float("nan")])
    assert ratio.per_round == [2.0, 2.0]
    assert ratio.median == 2.0
    assert at_least(ratio, 2.0) is True
    assert at_most(Ratio([]), 1.0) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


def test_response_parser_splits_pipelined_answers() -> None:
    parser = Response()
    first = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    second = b"HTTP/1.1 422 Unprocessable\r\nContent-Length: 3\r\n\r\n[1]"
    assert parser.feed(first + second[:10]) == [200]
    assert parser.feed(second[10:]) == [422]
    request = build_requests({"port": 1, "path": "/p", "bodies": ['{"a":1}']})[0]
    assert request.endswith(b'\r\n\r\n{"a":1}') and b"Content-Length: 7" in request


def test_table_lists_rows_and_skips(tmp_path: Path) -> None:
    results = Results(started_at=now(), quick=True, rounds=1)
    results.add(Row("1/x", "what", "base", 10.0, 80.0, "req/s", Ratio([8.0]), "M/B", ">= 8x", True))
    results.skip("5", "no broker")
    md, js = results.write(tmp_path)
    assert "| 1/x |" in md.read_text() and "no broker" in md.read_text()
    assert json.loads(js.read_text())["rows"][0]["ratio"]["median"] == 8.0
