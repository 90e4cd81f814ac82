"""#9: the RSS each benchmark sampled (``facts["rss_mb"]``) marked against its goal.

Goals (issue 16): every service ≤ 250 MB idle; deployment serving two models ≤ 250 MB; after
large jobs, ingestion and training back under 300 MB.
"""

from __future__ import annotations

from typing import Any

from .results import Results, Row

IDLE_MB = 250.0
AFTER_JOBS_MB = 300.0

_IN_PROCESS = (
    "the job runs in the service's own process (no child process); the pages it freed are "
    "given back after each job (millrace_shared.memory: gc, pyarrow's pool, malloc_trim), but "
    "what the first job imported and the objects it left scattered in CPython's arenas stay"
)
_DEPLOYMENT = (
    "one process holds the imported stack (scikit-learn, pandas, pyarrow, ONNX Runtime, "
    "skl2onnx) and both models with their ONNX Runtime sessions"
)
_IDLE = "what the service holds after start is mostly what it imports"
_NO_PROFILE = "not broken down in this run"

_STEP = {
    "start": "start imports",
    "job": "start + job imports",
    "models": "start + model-loading imports",
}


def mark(results: Results) -> None:
    """Add the #9 rows for what was sampled; nothing when no benchmark sampled RSS."""
    rss: dict[str, Any] = results.facts.get("rss_mb", {})
    profiles: dict[str, Any] = dict(rss.get("profile", {}))  # a copy: facts stay as measured
    deployment = rss.get("deployment", {})
    no_model = rss.get("idle_each_service_no_model", {}).get("deployment")
    if profiles.get("deployment") and no_model is not None:
        # #8's replica, started with no model: where the two models' one starts from.
        dep = profiles["deployment"]
        profiles["deployment"] = dep | {
            "timeline": {"no model (#8's replica)": no_model, **dep.get("timeline", {})}
        }
    if deployment.get("idle_two_models") is not None:
        _row(
            results,
            "9/deployment",
            "deployment RSS idle, serving two models (HGB + logistic regression)",
            deployment["idle_two_models"],
            IDLE_MB,
            f"max under #1 peak load {_mb(deployment.get('under_peak_load_max'))}",
            _with_profile(_DEPLOYMENT, profiles.get("deployment"), deployment["idle_two_models"]),
        )
    for service, mb in sorted(rss.get("idle_each_service_no_model", {}).items()):
        _row(
            results,
            f"9/idle {service}",
            f"{service} RSS idle after start, no model (#8's services)",
            mb,
            IDLE_MB,
            "",
            _with_profile(_IDLE, profiles.get(f"idle {service}"), mb, "start"),
        )
    for key in ("monitoring", "monitoring_500"):
        if rss.get(key, {}).get("idle_after_start") is not None:
            _row(
                results,
                f"9/{key} (#5)",
                "monitoring RSS idle after start (#5's service)",
                rss[key]["idle_after_start"],
                IDLE_MB,
                f"max under #5 load {_mb(rss[key].get('under_load_max'))}",
                "",
            )
    after = rss.get("after_freshness_rounds", {})
    for service in ("ingestion", "training"):
        if after.get(service) is not None:
            _row(
                results,
                f"9/after jobs {service}",
                f"{service} RSS after #8's rounds (its large jobs)",
                after[service],
                AFTER_JOBS_MB,
                "",
                _with_profile(_IN_PROCESS, profiles.get(f"after jobs {service}"), after[service]),
                strict=True,
            )


def _with_profile(
    reason: str, profile: dict[str, Any] | None, mb: float, step: str | None = None
) -> str:
    return (
        f"{reason}; profile: {profile_note(profile, mb, step)}"
        if profile
        else (f"{reason}; {_NO_PROFILE}")
    )


def profile_note(profile: dict[str, Any], mb: float, step: str | None = None) -> str:
    """A row's profile (``bench.rss_profile.profile``) in words: RSS over time, what an
    import-only interpreter takes, what ``mb`` holds beyond the import probe's ``step`` (its
    last if None), and what backs the pages now."""
    parts = []
    timeline: dict[str, float] = profile.get("timeline") or {}
    if len(timeline) > 1:
        parts.append(" → ".join(f"{label} {_mb(v)}" for label, v in timeline.items()))
        values = list(timeline.values())
        if len(values) > 3:  # idle, first job, later jobs
            per_job = (values[-1] - values[1]) / (len(values) - 2)
            parts.append(
                f"the first job added {_mb(values[1] - values[0])}, each later one "
                f"{per_job:+.0f} MB on average"
            )
    probe: dict[str, float] | None = profile.get("import_only")
    if probe:
        steps = [f"{_STEP.get(k, k)}: {_mb(v)}" for k, v in probe.items() if k != "bare"]
        parts.append(
            f"a fresh interpreter (bare {_mb(probe.get('bare'))}) importing the service's "
            + ", ".join(steps)
        )
        key = step if step in probe else list(probe)[-1]
        rest = mb - probe[key]
        parts.append(f"this process holds {rest:+.0f} MB beyond its {_STEP.get(key, key)}")
    elif "import_only" in profile:
        parts.append("the import-only interpreter failed")
    backing: dict[str, float] = profile.get("by_backing") or {}
    if backing:
        parts.append(
            "resident by backing: " + ", ".join(f"{k} {_mb(v)}" for k, v in backing.items())
        )
    return "; ".join(parts) or _NO_PROFILE


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MB"


def _row(
    results: Results,
    bench: str,
    what: str,
    mb: float,
    goal: float,
    note: str,
    reason: str,
    *,
    strict: bool = False,
) -> None:
    met = mb < goal if strict else mb <= goal
    notes = note
    if not met and reason:
        notes = f"{note}; " if note else ""
        notes += f"missed: {reason}"
    results.add(
        Row(
            bench=bench,
            what=what,
            baseline="goal",
            baseline_value=goal,
            millrace_value=float(mb),
            unit="MB",
            ratio=None,
            ratio_meaning="",
            goal=f"{'<' if strict else '≤'} {goal:.0f} MB",
            met=met,
            notes=notes,
        )
    )
