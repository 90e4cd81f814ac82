"""The README's performance table is the latest full benchmark run, not a copy gone stale."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import readme_table  # noqa: E402


def test_the_readme_shows_the_latest_full_run() -> None:
    assert readme_table.main(["--check"]) == 0


def test_a_changed_result_makes_the_readme_stale() -> None:
    readme = readme_table.README.read_text()
    results = {
        "started_at": "2026-01-01T00:00:00+00:00",
        "rounds": 5,
        "environment": {"machine": "m", "git_commit": "abc"},
        "rows": [
            {
                "bench": "1/x",
                "what": "w",
                "baseline": "b",
                "baseline_value": 2.0,
                "millrace_value": 8.0,
                "unit": "req/s",
                "ratio": {"median": 4.0, "min": 3.0, "max": 5.0, "rounds": [3.0, 4.0, 5.0]},
                "ratio_meaning": "Millrace/b",
                "goal": "≥ 8x",
                "met": False,
            }
        ],
    }
    table = readme_table.render(results)
    assert "| 1/x | w | b: 2 req/s | 8 req/s | 4x Millrace/b (3-5) | ≥ 8x | **no** |" in table
    assert readme_table.section(readme) != table
    assert readme_table.section(readme_table.with_table(readme, table)) == table
