"""The README's performance table, rendered from ``bench/results/latest.json``.

``python -m bench.readme_table --write`` puts it between the README's markers;
``--check`` fails when the README does not show the latest full run (a unit test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .results import format_value
from .stats import fmt

ROOT = Path(__file__).resolve().parent.parent
LATEST = ROOT / "bench" / "results" / "latest.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def render(results: dict[str, Any]) -> str:
    environment = results.get("environment", {})
    commit = str(environment.get("commit") or environment.get("git_commit", "?"))[:9]
    dirty = environment.get("dirty_code", environment.get("git_dirty"))
    lines = [
        f"Latest full run: {results['started_at'][:16].replace('T', ' ')} UTC, "
        f"{results['rounds']} interleaved rounds, {environment.get('machine', '?')}, "
        f"commit {commit}"
        + (" (with uncommitted changes)" if dirty else "")
        + ". A goal is met only if every round meets it. Full table, notes and profiles: "
        "`bench/results/latest.md`.",
        "",
        *_peers(results["rows"]),
        "",
        "| # | what | baseline | Millrace | ratio (median, min-max) | goal | met? |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in results["rows"]:
        ratio = row.get("ratio") or {}
        rounds = ratio.get("rounds") or []
        shown = (
            f"{fmt(ratio['median'])}x {row['ratio_meaning']} "
            f"({fmt(ratio['min'])}-{fmt(ratio['max'])})"
            if rounds
            else "-"
        )
        met = {True: "yes", False: "**no**", None: "-"}[row.get("met")]
        lines.append(
            f"| {row['bench']} | {row['what']} | {row['baseline']}: "
            f"{format_value(row.get('baseline_value'), row['unit'])} "
            f"| {format_value(row.get('millrace_value'), row['unit'])} | {shown} | {row['goal']} "
            f"| {met} |"
        )
    lines += _memory(results.get("facts", {}).get("rss_mb"))
    return "\n".join(lines)


def _peers(rows: list[dict[str, Any]]) -> list[str]:
    """Which rows are ratios to which peer: one line per benchmark number, from the rows."""
    seen: dict[str, list[str]] = {}
    for row in rows:
        number = row["bench"].split("/", 1)[0]
        if row.get("ratio_meaning"):
            peer = f"ratio {row['ratio_meaning']} (peer: {row['baseline']})"
        else:
            peer = f"absolute, no peer ({row['baseline']}: {row['goal']})"
        if peer not in seen.setdefault(number, []):
            seen[number].append(peer)
    parts = [f"#{number}: {'; '.join(peers)}" for number, peers in seen.items()]
    return ["Ratios and their peers — " + ". ".join(parts) + "."]


def _memory(rss: dict[str, Any] | None) -> list[str]:
    """#9 is a report, not a ratio: resident memory per service from the run's facts."""
    if not rss:
        return []
    idle = rss.get("idle_each_service_no_model", {})
    lines = [
        "",
        "#9, resident memory (MB; goal ≤ 250 idle per service): idle, no model: "
        + ", ".join(f"{name} {fmt(mb)}" for name, mb in idle.items()),
    ]
    loaded = []
    if "deployment" in rss:
        deployment = rss["deployment"]
        loaded.append(
            f"deployment with both models {fmt(deployment.get('idle_two_models'))}, "
            f"under #1's load {fmt(deployment.get('under_peak_load_max'))}"
        )
    if "monitoring" in rss:
        loaded.append(f"monitoring under #5's load {fmt(rss['monitoring'].get('under_load_max'))}")
    if "after_freshness_rounds" in rss:
        after = rss["after_freshness_rounds"]
        loaded.append(
            "after #8's rounds " + ", ".join(f"{name} {fmt(mb)}" for name, mb in after.items())
        )
    if loaded:
        lines[-1] += "; " + "; ".join(loaded) + "."
    return lines


def section(readme: str) -> str:
    if START not in readme or END not in readme:
        raise ValueError(f"README has no {START} ... {END} section")
    return readme.split(START, 1)[1].split(END, 1)[0].strip()


def with_table(readme: str, table: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the README's table")
    action.add_argument("--check", action="store_true", help="fail if the README is stale")
    args = parser.parse_args(argv)
    table = render(json.loads(LATEST.read_text()))
    readme = README.read_text()
    if args.write:
        README.write_text(with_table(readme, table))
        print(f"README.md: table of {LATEST.relative_to(ROOT)} written")
        return 0
    if section(readme) != table:
        print(
            "README.md's performance table is not the latest run: "
            "python -m bench.readme_table --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
