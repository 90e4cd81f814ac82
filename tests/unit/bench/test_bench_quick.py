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

# The one quick run below is the first test's setup: a loaded machine needs more than the
# suite's default timeout for it (CI takes a few minutes; nothing here times the bench).
pytestmark = [pytest.mark.bench, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench_support import run_bench  # noqa: E402

from bench import memory  # noqa: E402
from bench.loadgen import Response, build_requests  # noqa: E402
from bench.results import Results, Row, code_state, now  # noqa: E402
from bench.stats import Ratio, at_least, at_most, percentile, ratios  # noqa: E402

QUICK = "2,4,5,7,8,9"
"""Every benchmark path CI can run without the baselines' envs, in ONE run: one stack, one
set of service starts (the costly part), the rows checked by the tests below."""


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    run = run_bench(tmp_path_factory.mktemp("bench"), QUICK, timeout=1100)
    assert _failures(run.data) == [], run.stderr[-4000:]
    return run.data, run.table


def _failures(data: dict[str, Any]) -> list[dict[str, str]]:
    """Skips other than a baseline whose environment is not installed (CI installs none)."""
    return [s for s in data["skipped"] if "is missing" not in s["why"]]


def _rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["bench"]: r for r in data["rows"]}


def test_drift_quick(quick: tuple[dict[str, Any], str]) -> None:
    data, table = quick
    rows = _rows(data)
    far = {f"7/far {n}" + suffix for n in ("500", "10k", "100k") for suffix in ("", " no floors")}
    assert {"7/10k", "7/100k", "7/power 0.3 sd", "7/power 0.5 sd"} | far <= set(rows)
    for name in ("7/10k", "7/100k"):
        assert rows[name]["millrace_value"] is not None
        assert "every injected column in every round: yes" in rows[name]["notes"]
    # A 0.5 sd shift of one column is flagged in the default 500-row windows.
    assert rows["7/power 0.5 sd"]["millrace_value"] > 0
    assert "| 7/10k |" in table


def test_serving_quick(quick: tuple[dict[str, Any], str]) -> None:
    data, table = quick
    rows = _rows(data)
    assert {"2/hgb", "2/logreg", "4/hgb", "4/logreg"} <= set(rows)
    for key in ("2/hgb", "2/logreg", "4/hgb", "4/logreg"):
        row = rows[key]
        assert row["millrace_value"] is not None and row["baseline_value"] is not None
        assert "the faster bare endpoint" in row["baseline"]
        assert "in-process cost per call" in row["notes"]
    # The same labels from every server, the ONNX Runtime baseline included, row by row
    # and for a whole batch.
    agreement = data["facts"]["same_predictions_on_20_rows"]
    assert all({"millrace", "bare", "onnx"} <= set(same) for same in agreement.values())
    assert all(all(same.values()) for same in agreement.values())
    batches = data["facts"]["same_batch_predictions"]
    assert all({"millrace", "bare", "onnx"} == set(same) for same in batches.values())
    assert all(all(same.values()) for same in batches.values())
    costs = data["facts"]["baseline_inprocess_us_per_call"]
    assert all({"sklearn", "onnx"} == set(c) for c in costs.values())
    assert "| 2/hgb |" in table


def test_monitoring_and_freshness_quick(quick: tuple[dict[str, Any], str]) -> None:
    """The Kafka-heavy benchmarks: services and the raw-consumer floor on the secured stack,
    each as its own principal."""
    data, table = quick
    rows = _rows(data)
    assert {"5", "5/500", "8"} <= set(rows)
    for name in ("5", "5/500"):
        # Each round consumed the whole topic from a fresh state (the bench raises otherwise):
        # a rate from restored counters once came out negative.
        assert rows[name]["millrace_value"] > 0 and rows[name]["baseline_value"] > 0
        rounds = rows[name]["details"]["millrace"]
        assert rounds and all(r["rate"] > 0 and r["seen"] == r["logs"] for r in rounds)
    assert rows["8"]["millrace_value"] is not None
    assert "| 5 |" in table


def test_memory_is_marked(quick: tuple[dict[str, Any], str]) -> None:
    data, _ = quick
    rows = _rows(data)
    marked = [r for name, r in rows.items() if name.startswith("9/")]
    assert "9/deployment" in rows and "9/after jobs training" in rows
    assert all(r["met"] in (True, False) and r["millrace_value"] > 0 for r in marked)


def test_ratios_pair_rounds() -> None:
    ratio = ratios([10.0, 20.0, 30.0], [5.0, 10.0, float("nan")])
    assert ratio.per_round == [2.0, 2.0]
    assert ratio.median == 2.0
    assert at_least(ratio, 2.0) is True
    assert at_most(Ratio([]), 1.0) is None
    # Every round must meet a goal: the median alone does not.
    assert at_least(Ratio([0.9, 1.2, 1.3]), 1.0) is False
    assert at_most([4.0, 12.0, 5.0], 10.0) is False
    assert at_most([4.0, 9.0], 10.0) is True
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


def test_monitoring_rate_counts_one_full_round_only() -> None:
    from bench.b_monitoring import round_rate

    assert round_rate(1000, (10.0, 200), (12.0, 1000)) == 400.0
    # Counters restored from a checkpoint start at or past the total: no rate, an error.
    for first, last in (((10.0, 1500), (12.0, 1500)), ((10.0, 900), (12.0, 1800))):
        with pytest.raises(RuntimeError, match="full consumption"):
            round_rate(1000, first, last)
    with pytest.raises(RuntimeError, match="nothing to time"):
        round_rate(1000, (10.0, 1000), (10.0, 1000))


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


def test_code_state_names_uncommitted_service_code(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=b@x", "-c", "user.name=b", "commit", "-q", "--allow-empty", "-m", "0")
    assert code_state(tmp_path)["dirty_code"] == []
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "notes.md").write_text("not code the table measures")
    assert code_state(tmp_path)["dirty_code"] == []
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.py").write_text("changed = True\n")
    state = code_state(tmp_path)
    assert state["dirty_code"] and len(state["commit"]) == 40


def test_full_run_refuses_dirty_service_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.__main__ as entry

    monkeypatch.setattr(
        entry, "code_state", lambda root: {"commit": "0" * 40, "dirty_code": ["services/x.py"]}
    )
    with pytest.raises(SystemExit) as raised:
        entry.main([])
    assert raised.value.code == 2


def test_memory_marks_each_goal_and_says_why_a_miss() -> None:
    results = Results(started_at=now(), quick=True, rounds=1)
    results.facts["rss_mb"] = {
        "deployment": {"idle_two_models": 240.0, "under_peak_load_max": 260.0},
        "idle_each_service_no_model": {"registry": 90.0, "training": 251.0},
        "after_freshness_rounds": {"ingestion": 299.0, "training": 300.0},
    }
    memory.mark(results)
    met = {r.bench: r.met for r in results.rows}
    assert met == {
        "9/deployment": True,
        "9/idle registry": True,
        "9/idle training": False,
        "9/after jobs ingestion": True,
        "9/after jobs training": False,  # the goal is under 300 MB
    }
    assert all("missed:" in r.notes for r in results.rows if r.met is False)
