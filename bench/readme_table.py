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

from .stats import fmt

ROOT = Path(__file__).resolve().parent.parent
LATEST = ROOT / "bench" / "results" / "latest.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def render(results: dict[str, Any]) -> str:
    environment = results.get("environment", {})
    lines = [
        f"Latest full run: {results['started_at'][:16].replace('T', ' ')} UTC, "
        f"{results['rounds']} interleaved rounds, {environment.get('machine', '?')}, "
        f"commit {environment.get('git_commit', '?')}"
        + (" (with uncommitted changes)" if environment.get("git_dirty") else "")
        + ". Full table, notes and profiles: `bench/results/latest.md`.",
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
            f"{_value(row.get('baseline_value'), row['unit'])} "
            f"| {_value(row.get('millrace_value'), row['unit'])} | {shown} | {row['goal']} "
            f"| {met} |"
        )
    return "\n".join(lines)


def _value(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{fmt(value)} {unit}".strip()


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
