"""#9's notes: a missed row carries its profile and the reason, built from the run's facts.

No stack: the facts are what ``bench.b_serving`` / ``bench.b_freshness`` record; the probe
and the mapping reader run on this test's own interpreter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import memory, rss_profile  # noqa: E402
from bench.results import Results, now  # noqa: E402


def _facts() -> dict[str, Any]:
    probe = {"bare": 9.0, "start": 240.0, "job": 300.0}
    return {
        "deployment": {"idle_two_models": 372.0, "under_peak_load_max": 373.0},
        "idle_each_service_no_model": {"deployment": 131.0, "registry": 118.0, "training": 270.0},
        "after_freshness_rounds": {"ingestion": 280.0, "training": 367.0},
        "profile": {
            "deployment": {
                "by_backing": {"anonymous": 250.0, "onnxruntime": 30.0},
                "import_only": {"bare": 9.0, "start": 100.0, "models": 230.0},
                "timeline": {"idle, two models": 372.0},
            },
            "idle training": {
                "by_backing": {"anonymous": 200.0, "sklearn": 20.0},
                "import_only": probe,
                "timeline": {"idle": 270.0},
            },
            "after jobs training": {
                "by_backing": {"anonymous": 300.0, "pyarrow": 25.0},
                "import_only": probe,
                "timeline": {
                    "idle": 270.0,
                    "after job 1": 340.0,
                    "after job 2": 355.0,
                    "after job 3": 367.0,
                },
            },
        },
    }


def _notes(facts: dict[str, Any]) -> dict[str, tuple[bool | None, str]]:
    results = Results(started_at=now(), quick=True, rounds=1)
    results.facts["rss_mb"] = facts
    memory.mark(results)
    return {r.bench: (r.met, r.notes) for r in results.rows}


def test_every_missed_row_has_its_profile_and_reason() -> None:
    notes = _notes(_facts())
    missed = {name: n for name, (met, n) in notes.items() if met is False}
    assert set(missed) == {"9/deployment", "9/idle training", "9/after jobs training"}
    for note in missed.values():
        assert "missed: " in note and "; profile: " in note
    # Deployment: what the model-loading stack's imports take, and what is left beyond them.
    assert "start + model-loading imports: 230 MB" in missed["9/deployment"]
    assert "holds +142 MB beyond its start + model-loading imports" in missed["9/deployment"]
    assert "anonymous 250 MB, onnxruntime 30 MB" in missed["9/deployment"]
    assert "no model (#8's replica) 131 MB → idle, two models 372 MB" in missed["9/deployment"]
    # Idle: compared with the start imports alone (not a job's).
    assert "holds +30 MB beyond its start imports" in missed["9/idle training"]
    # After jobs: the first job against the later ones.
    after = missed["9/after jobs training"]
    assert "idle 270 MB → after job 1 340 MB → after job 2 355 MB → after job 3 367 MB" in after
    assert "the first job added 70 MB, each later one +14 MB on average" in after
    assert "holds +67 MB beyond its start + job imports" in after
    # Rows that met their goal keep their short notes.
    assert "profile" not in notes["9/idle registry"][1]
    assert notes["9/after jobs ingestion"][0] is True


def test_a_missed_row_without_a_profile_says_so() -> None:
    facts = _facts()
    del facts["profile"]
    notes = _notes(facts)
    assert notes["9/idle training"][1].endswith("not broken down in this run")
    facts = _facts()
    facts["profile"]["idle training"]["import_only"] = None
    assert "the import-only interpreter failed" in _notes(facts)["9/idle training"][1]


def test_probe_and_mappings_measure_a_real_process() -> None:
    backing = rss_profile.by_backing(os.getpid(), top=20)
    assert backing and "anonymous" in backing and all(mb > 0 for mb in backing.values())
    got = rss_profile.ImportProbe("training").result()
    assert got is not None and set(got) == {"bare", "start", "job"}
    assert 0 < got["bare"] < got["start"] <= got["job"]
