"""#7: drift check of a 10k-row and a 100k-row window against a 100k-row reference,
Millrace's monitoring core against Evidently's DataDriftPreset, with known injected drift
(the same work on both sides: reference prepared once, tests against as many reference rows,
the same columns, JSON out); then Millrace's false-alarm rate over same-distribution windows
(shipped effect-size floors, and floors off), and its detection power at the default 500-row
window."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from millrace_infra.launcher import pinned

from .context import Context
from .drift_data import INJECTED
from .envs import available
from .harness import server_cpu
from .results import Row
from .stats import at_least, median, ratios

BENCH = Path(__file__).resolve().parent
WARM_UP_INDEX = 999
"""The untimed warm-up window's index: a window no timed round uses."""


class Worker:
    def __init__(self, command: list[str], log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            pinned(command, [server_cpu()]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=BENCH.parent,
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"drift worker died; see {self.log.name}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, job: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def run(ctx: Context, which: set[str]) -> None:
    sizes = [10_000, 100_000]
    millrace = Worker(
        # As a module of the bench package (the worker runs from the repo root).
        [sys.executable, "-m", "bench.drift_millrace"],
        ctx.logs / "drift-millrace.log",
    )
    significance = millrace.hello["policy"]["significance"]
    env = available("evidently")
    evidently = None
    if env is not None:
        evidently = Worker(
            [
                str(env.python),
                str(BENCH / "baselines" / "evidently_drift.py"),
                str(significance),
                str(millrace.hello["reference_sample_rows"]),
            ],
            ctx.logs / "drift-evidently.log",
        )
    else:
        ctx.results.skip("7 (Evidently side)", "bench/.envs/evidently is missing")
    try:
        facts: dict[str, Any] = {
            "injected": INJECTED,
            "millrace_reference": millrace.hello,
            "policy": millrace.hello["policy"],
        }
        if evidently is not None:
            facts["same_reference"] = (
                evidently.hello["reference_digest"] == millrace.hello["reference_digest"]
            )
        for rows in sizes:
            mill: list[dict[str, Any]] = []
            evid: list[dict[str, Any]] = []
            # One untimed check per side first: the first window of a size pays for touching
            # its memory for the first time (a 100k-row round 0 took 1.6x the others).
            warm_up = {"kind": "time", "rows": rows, "index": WARM_UP_INDEX, "drifted": True}
            for worker in (millrace, evidently):
                if worker is not None:
                    worker.ask(warm_up)
            for r in range(ctx.sizes.rounds):
                job = {"kind": "time", "rows": rows, "index": r, "drifted": True}
                order = [("m", millrace), ("e", evidently)]
                if r % 2:
                    order.reverse()
                for key, worker in order:
                    if worker is None:
                        continue
                    (mill if key == "m" else evid).append(worker.ask(job))
            injected = set(INJECTED)
            caught = all(injected <= set(x["drifted"]) for x in mill)
            extra = sorted({c for x in mill for c in x["drifted"]} - injected)
            m_seconds = [x["seconds"] for x in mill]
            e_seconds = [x["seconds"] for x in evid]
            note = f"Millrace flagged every injected column in every round: {'yes' if caught else 'NO'}"
            note += f"; other columns flagged: {extra or 'none'}"
            note += (
                f". Same work on both sides: reference prepared once, tests against "
                f"{millrace.hello['reference_sample_rows']:,} reference rows (Millrace's profile "
                "sample; Evidently gets as many of the 100k), 20 numeric + 5 categorical "
                "columns, result as JSON; one untimed warm-up check per side at each size"
            )
            if evid:
                e_flags = sorted({c for x in evid for c in x["drifted"]})
                note += (
                    f". Evidently (KS/chi-square at p<{significance}) flagged {e_flags}; same windows: "
                    f"{all(a['digest'] == b['digest'] for a, b in zip(mill, evid, strict=False))}"
                )
            ratio = ratios(e_seconds, m_seconds) if evid else None
            profile = None
            if ratio is not None and ratio.median < 30 and not ctx.quick:
                profile = millrace.ask({"kind": "profile", "rows": rows})
                note += (
                    f". cProfile of one Millrace check ({profile['seconds'] * 1000:.0f} ms): "
                    + ("; ".join(profile["by_own_time"][:8]))
                )
            ctx.results.add(
                Row(
                    bench=f"7/{rows // 1000}k",
                    what=f"drift check of a {rows:,}-row window (20 num + 5 cat) vs a 100k-row reference",
                    baseline="Evidently DataDriftPreset (JSON)",
                    baseline_value=median(e_seconds) * 1000 if evid else None,
                    millrace_value=median(m_seconds) * 1000,
                    unit="ms",
                    ratio=ratio,
                    ratio_meaning="Evidently/Millrace time: x faster",
                    goal="≥ 30x faster; all injected flagged",
                    met=(at_least(ratio, 30) is True and caught) if ratio is not None else None,
                    notes=note,
                    details={"millrace": mill, "evidently": evid, "profile": profile},
                )
            )
        count = ctx.sizes.drift_windows_far
        for floors in (True, False):
            for rows in (500, 10_000, 100_000):
                job = {"kind": "far", "rows": rows, "count": count, "floors": floors}
                answer = millrace.ask(job)
                rate = answer["windows_with_alarm"] / answer["windows"]
                size = f"{rows // 1000}k" if rows >= 1000 else str(rows)
                how = "" if floors else ", effect-size floors off (tests + BH alone)"
                ctx.results.add(
                    Row(
                        bench=f"7/far {size}" + ("" if floors else " no floors"),
                        what=f"false alarms over {count} same-distribution windows of {rows:,} rows{how}",
                        baseline="configured level (significance)",
                        baseline_value=significance,
                        millrace_value=rate,
                        unit="",
                        ratio=None,
                        ratio_meaning="",
                        goal=f"≤ {significance}",
                        met=rate <= significance,
                        notes=(
                            f"{answer['windows_with_alarm']} of {answer['windows']} windows raised an alarm "
                            f"({answer['features_flagged']} feature flags)"
                            + (
                                ""
                                if floors
                                else "; only the KS/chi-square tests and BH judge: the rate "
                                "the significance alone bounds (the shipped floors are off)"
                            )
                        ),
                        details=answer,
                    )
                )
        window = int(facts["policy"]["window_size"])
        for shift in (0.3, 0.5):
            job = {"kind": "power", "rows": window, "count": count, "shift_sd": shift}
            answer = millrace.ask(job)
            share = answer["windows_flagging_shift"] / answer["windows"]
            ctx.results.add(
                Row(
                    bench=f"7/power {shift} sd",
                    what=f"detection power: share of {window}-row windows (the default window) "
                    f"flagging a {shift} sd mean shift of one column, shipped policy",
                    baseline="-",
                    baseline_value=None,
                    millrace_value=share,
                    unit="",
                    ratio=None,
                    ratio_meaning="",
                    goal="report",
                    met=None,
                    notes=f"{answer['windows_flagging_shift']} of {answer['windows']} windows "
                    f"flagged {answer['column']} (normal, sd 1)",
                    details=answer,
                )
            )
        ctx.results.facts["drift"] = facts
    finally:
        millrace.close()
        if evidently is not None:
            evidently.close()
