"""The results table: one row per measurement, written as Markdown and JSON."""

from __future__ import annotations

import json
import math
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from .stats import Ratio, at_least, at_most, fmt, median, ratios


@dataclass
class Row:
    bench: str
    """Benchmark number and variant, e.g. ``1/hgb``."""
    what: str
    baseline: str
    baseline_value: float | None
    millrace_value: float | None
    unit: str
    ratio: Ratio | None
    """Millrace relative to the baseline, per round; see ``ratio_meaning``."""
    ratio_meaning: str
    goal: str
    met: bool | None
    """None when the goal could not be judged (not measured, or no goal)."""
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio.as_json() if self.ratio is not None else None
        cleaned: dict[str, Any] = _clean(out)
        return cleaned


def compared(
    *,
    bench: str,
    what: str,
    baseline: str,
    millrace: Sequence[float],
    base: Sequence[float],
    unit: str,
    ratio_meaning: str,
    goal: str,
    least: float | None = None,
    most: float | None = None,
    met: bool | None = None,
    notes: str = "",
    details: dict[str, Any] | None = None,
) -> Row:
    """Millrace against a baseline run in the same rounds: each side's median, the per-round
    ratio. The goal is judged on that ratio (``least``/``most``: every round must meet it)
    unless the caller judged it."""
    ratio = ratios(millrace, base)
    if least is not None:
        met = at_least(ratio, least)
    elif most is not None:
        met = at_most(ratio, most)
    row = (bench, what, baseline, median(base), median(millrace), unit, ratio, ratio_meaning)
    return Row(*row, goal, met, notes, details or {})


@dataclass
class Skipped:
    bench: str
    why: str


@dataclass
class Results:
    started_at: datetime
    quick: bool
    rounds: int
    rows: list[Row] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    """Measurements that are not a table row: client ceilings, versions, profiles."""

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def skip(self, bench: str, why: str) -> None:
        self.skipped.append(Skipped(bench, why))

    def as_json(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = _clean(
            {
                "started_at": self.started_at.isoformat(),
                "quick": self.quick,
                "rounds": self.rounds,
                "environment": self.environment,
                "rows": [r.as_json() for r in self.rows],
                "skipped": [asdict(s) for s in self.skipped],
                "facts": self.facts,
            }
        )
        return cleaned

    def markdown(self) -> str:
        commit = self.environment.get("commit", "?")
        dirty = self.environment.get("dirty_code") or []
        lines = [
            f"# Millrace benchmarks — {self.started_at:%Y-%m-%d %H:%M} UTC"
            + (" (quick mode: not for judging goals)" if self.quick else "")
            + (" — DIRTY TREE: not a measurement of any commit" if dirty else ""),
            "",
            f"Measured on commit `{commit}`"
            + (
                f", with uncommitted changes in {', '.join(dirty[:10])} (`--allow-dirty`)"
                if dirty
                else " (services/, shared/, contracts/ clean)"
            )
            + ".",
            "",
            f"Rounds per benchmark: {self.rounds}, baseline and Millrace interleaved "
            "(A B A B …). Ratio = per-round ratio, median over rounds, spread = min-max "
            "(IQR). A goal is met only if EVERY round meets it (the worst round: the spread's "
            "min, or its max where lower is better). Machine: "
            + self.environment.get("machine", "?"),
            "",
            "| # | what | baseline | baseline | Millrace | ratio (median) | spread | goal | met? |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in self.rows:
            met = {True: "yes", False: "**no**", None: "-"}[r.met]
            ratio = fmt(r.ratio.median) + "x" if r.ratio and r.ratio.per_round else "-"
            spread = r.ratio.spread() if r.ratio else "-"
            lines.append(
                f"| {r.bench} | {r.what} | {r.baseline} | {format_value(r.baseline_value, r.unit)} "
                f"| {format_value(r.millrace_value, r.unit)} | {ratio} ({r.ratio_meaning}) | {spread} "
                f"| {r.goal} | {met} |"
            )
        notes = [r for r in self.rows if r.notes]
        if notes:
            lines += ["", "## Notes", ""]
            lines += [f"- **{r.bench}**: {r.notes}" for r in notes]
        if self.skipped:
            lines += ["", "## Not measured in this run", ""]
            lines += [f"- **{s.bench}**: {s.why}" for s in self.skipped]
        if self.facts:
            lines += ["", "## Facts of this run", "", "```json"]
            lines.append(json.dumps(_clean(self.facts), indent=1, default=str)[:20000])
            lines.append("```")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path, only: str = "") -> tuple[Path, Path]:
        """``latest.*`` is the last full run; quick runs and ``--only`` runs get names of
        their own, so they never replace it."""
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        suffix = ("-quick" if self.quick else "") + (f"-only-{only}" if only else "")
        md, js = self.markdown(), json.dumps(self.as_json(), indent=1, default=str)
        for name in (f"{stamp}{suffix}", "latest" + suffix):
            (out_dir / f"{name}.md").write_text(md)
            (out_dir / f"{name}.json").write_text(js + "\n")
        return out_dir / f"latest{suffix}.md", out_dir / f"latest{suffix}.json"


def format_value(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{fmt(value)} {unit}".strip()


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities as null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "machine": f"{platform.machine()}, {_cpus()} CPUs, {_mem_gb()} GB, Python "
        f"{platform.python_version()}",
        "kernel": platform.release(),
    }
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        # Tracked files only, results excluded: earlier runs' result files are not code.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        info["git_dirty"] = bool(dirty.strip())
    except OSError:
        pass
    return info


CODE = ("services", "shared", "contracts")
"""What a table measures: it must be committed for the table to name its commit."""


def code_state(root: Path) -> dict[str, Any]:
    """The commit, and the uncommitted (or untracked) paths under ``CODE``; the commit is
    "unknown" outside a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", *CODE],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "dirty_code": []}
    dirty = [line[3:] for line in status.splitlines() if line.strip()]
    return {"commit": commit, "dirty_code": dirty}


def _cpus() -> int:
    return psutil.cpu_count() or 0


def _mem_gb() -> int:
    return round(psutil.virtual_memory().total / 1024**3)


def now() -> datetime:
    return datetime.now(UTC)
