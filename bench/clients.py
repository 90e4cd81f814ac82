"""Driving the load clients from the orchestrator: ``wrk`` and ``bench.loadgen``."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millrace_infra.launcher import pinned

from .harness import client_cpus
from .stats import percentile

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """One server endpoint and what to send it."""

    name: str
    port: int
    path: str
    bodies: list[str]
    headers: dict[str, str]

    def spec(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "path": self.path,
            "bodies": self.bodies,
            "headers": {"Content-Type": "application/json", **self.headers},
        }

    def write_spec(self, work: Path) -> Path:
        path = work / f"spec-{self.name}-{abs(hash(self.path)) % 10**8}-{len(self.bodies)}.json"
        path.write_text(json.dumps(self.spec()))
        return path


def _lua_string(text: str) -> str:
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def _wrk_script(target: Target, work: Path) -> Path:
    bodies = ",\n".join(_lua_string(b) for b in target.bodies)
    headers = ", ".join(
        f'["{k}"] = "{v}"'
        for k, v in {"Content-Type": "application/json", **target.headers}.items()
    )
    script = f"""
local bodies = {{
{bodies}
}}
local reqs = {{}}
local i = 0
init = function(args)
  for k, b in ipairs(bodies) do
    reqs[k] = wrk.format("POST", "{target.path}", {{{headers}}}, b)
  end
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "mean_us": %f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""
    path = work / f"wrk-{target.name}-{abs(hash(target.path)) % 10**8}.lua"
    path.write_text(script)
    return path


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def peak(target: Target, work: Path, *, connections: int, duration: float) -> dict[str, Any]:
    """Closed-loop peak rate: ``wrk`` (one thread) when installed, else ``loadgen closed``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if has_wrk():
        script = _wrk_script(target, work)
        command = pinned(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{target.port}{target.path}",
            ],
            client_cpus()[:1],
        )
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
        raw = json.loads(line.removeprefix("BENCHJSON "))
        seconds = raw["duration_us"] / 1e6
        errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
        result = {
            "client": "wrk",
            "rate": raw["requests"] / seconds,
            "requests": raw["requests"],
            "errors": errors,
            "p50_ms": raw["p50_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "seconds": seconds,
        }
    else:
        spec = target.write_spec(work)
        raw = run_loadgen(
            ["closed", str(spec), "--connections", str(connections), "--duration", str(duration)]
        )
        result = {
            "client": "loadgen",
            "rate": raw["rate"],
            "requests": raw["requests"],
            "errors": raw["errors"],
            "seconds": raw["elapsed"],
        }
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["client_cpu_share"] = cpu / result["seconds"]
    return result


def run_loadgen(args: list[str]) -> dict[str, Any]:
    """``bench.loadgen ARGS`` pinned to the clients' CPUs; its JSON result."""
    command = pinned([sys.executable, "-m", "bench.loadgen", *args], client_cpus())
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def open_loop(
    target: Target, work: Path, *, rate: float, duration: float, seed: int
) -> dict[str, Any]:
    spec = target.write_spec(work)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    raw = run_loadgen(
        [
            "open",
            str(spec),
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--seed",
            str(seed),
            "--connections",
            "32",
        ]
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    latencies, lags = raw["latencies_ms"], raw["lags_ms"]
    return {
        "target_rate": rate,
        "achieved_rate": raw["completed"] / raw["elapsed"] if raw["elapsed"] else 0.0,
        "sent": raw["sent"],
        "completed": raw["completed"],
        "errors": raw["errors"],
        "unanswered": raw["unanswered"],
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else None,
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "connections_used": raw["connections_used"],
        "client_cpu_share": (
            (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / raw["elapsed"]
        ),
    }


def single(target: Target, work: Path, *, count: int, warmup: int) -> dict[str, Any]:
    spec = target.write_spec(work)
    raw = run_loadgen(["single", str(spec), "--count", str(count), "--warmup", str(warmup)])
    timings = raw["timings_ms"]
    return {
        "count": len(timings),
        "errors": raw["errors"],
        "p50_ms": percentile(timings, 50),
        "p90_ms": percentile(timings, 90),
        "p99_ms": percentile(timings, 99),
        "mean_ms": sum(timings) / len(timings) if timings else None,
    }
