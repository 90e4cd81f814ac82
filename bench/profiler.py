"""py-spy profiles of a server under load, summarised as the functions holding the time, and
the notes a missed goal's row carries from them."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from .envs import available

_LINE = re.compile(r":\d+\)")


def start(
    pid: int, seconds: float, out: Path, *, subprocesses: bool = False
) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` for ``seconds`` (py-spy from the tools env); None without it."""
    tools = available("tools")
    if tools is None:
        return None
    command = [
        str(tools.bin("py-spy")),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
    ]
    if subprocesses:
        command.append("--subprocesses")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(proc: subprocess.Popen[bytes] | None, out: Path, top: int = 14) -> dict[str, Any] | None:
    if proc is None:
        return None
    proc.wait(120)
    if not out.exists():
        return None
    return summarise(out.read_text(errors="replace"), top=top, path=out)


def summarise(text: str, *, top: int = 14, path: Path | None = None) -> dict[str, Any]:
    """Self and inclusive shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    idle = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", f) for f in stack.split(";") if f]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        if any(
            word in leaf for word in ("select (", "poll (", "wait (", "_run_once (", "run (uvloop")
        ):
            idle += count
        own[leaf] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return (
            [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]
            if total
            else []
        )

    focus = [(n, round(100 * c / total, 1)) for n, c in inclusive.most_common(300)] if total else []
    own_focus = [(n, round(100 * c / total, 1)) for n, c in own.most_common(300)] if total else []
    return {
        "inclusive_focus": focus,
        "self_focus": own_focus,
        "samples": total,
        "idle_share": round(100 * idle / total, 1) if total else None,
        "self_percent": share(own),
        "inclusive_percent": share(inclusive),
        "raw": str(path) if path else None,
    }


FOCUS = re.compile(
    r"millrace_|sklearn/pipeline|predict|telemetry|opentelemetry|pydantic|uuid|orjson|"
    r"faststream|aiokafka|modelio|validation|pyarrow"
)
"""Frames that say where a service's time goes (its own code and the libraries it calls)."""

ENTRY = re.compile(r"(run_service|main|<module>|ExceptionTelemetryMiddleware\.__call__) \(")
"""A service's entry frames: they hold every sample of their thread, so they say nothing."""

MISSING = "no profile (bench/.envs/tools with py-spy missing)"


def share(profile: dict[str, Any], frame: str) -> float:
    """Inclusive share (% of all samples) of the frame named exactly ``frame``; 0 if absent
    (``summarise`` keeps the 300 largest)."""
    found: float = next((p for n, p in profile["inclusive_focus"] if n == frame), 0.0)
    return found


def self_share(profile: dict[str, Any], pattern: re.Pattern[str]) -> float | None:
    """Share (% of all samples) spent in frames matching ``pattern`` themselves, not in what
    they call: self time does not nest, so this sums without counting a sample twice. None for
    a profile summarised before ``self_focus`` was kept."""
    kept: list[tuple[str, float]] | None = profile.get("self_focus")
    if kept is None:
        return None
    return round(sum((p for n, p in kept if pattern.search(n)), 0.0), 1)


def focus_frames(
    profile: dict[str, Any], top: int, *, first: re.Pattern[str] | None = None
) -> list[tuple[str, float]]:
    """The ``top`` largest focus frames (inclusive share), entry frames left out; those matching
    ``first`` (the service's own) ahead of the libraries'."""
    kept = [(n, p) for n, p in profile["inclusive_focus"] if FOCUS.search(n)]
    kept = [(n, p) for n, p in kept if not ENTRY.match(n)]
    if first is not None:
        kept = [x for x in kept if first.search(x[0])] + [x for x in kept if not first.search(x[0])]
    return kept[:top]


def frames_text(frames: list[tuple[str, float]]) -> str:
    return ", ".join(f"{n} {p}%" for n, p in frames)


def note(mill: dict[str, Any] | None, bare: dict[str, Any] | None) -> str:
    """A missed row's note: where Millrace's time goes, and the bare server's, same load."""
    if not mill:
        return MISSING
    text = "py-spy under load (share of samples, inclusive): " + frames_text(focus_frames(mill, 14))
    return text + (
        ". Bare server, same load: " + frames_text(focus_frames(bare, 4)) if bare else ""
    )


SERVING_PARTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("signature validation", re.compile(r"millrace_deployment/core/(validation|rows)\.py")),
    (
        "model runtime and its input matrix",
        re.compile(r"millrace_deployment/core/(onnx_runtime|compiled|served)\.py|onnxruntime/"),
    ),
    (
        "prediction logs (buffer, encoding, Kafka publish)",
        re.compile(r"millrace_deployment/core/(logpublisher|logbuffer)\.py|aiokafka/|messaging"),
    ),
    ("tracing", re.compile(r"opentelemetry/")),
    (
        "request handling (body, JSON, ids, answer)",
        re.compile(r"millrace_deployment/(api|core/predicting)\.py|millrace_contracts/|uuid\.py"),
    ),
    ("HTTP stack (uvicorn, Starlette, FastAPI)", re.compile(r"uvicorn/|starlette/|fastapi/")),
)
"""Deployment's work per request, by the modules whose frames do it (self time: no overlap)."""

BARE_WORK = frozenset({"signature validation", "model runtime and its input matrix",
                       "request handling (body, JSON, ids, answer)",
                       "HTTP stack (uvicorn, Starlette, FastAPI)"})  # fmt: skip
"""The parts a bare endpoint has too (without the checks, ids and fields); the others are
Millrace's alone."""

BARE_PARTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("its handler (JSON, runtime)", re.compile(r"bench/baselines/|onnxruntime/|sklearn/")),
    ("HTTP stack", re.compile(r"uvicorn/|starlette/|fastapi/")),
)


def serving_reason(mill: dict[str, Any] | None, bare: dict[str, Any] | None) -> str:
    """Why a serving row misses, from the profiles' self time (a sample counted once): how much
    of Millrace's time goes to each part of its work, and to the work a bare endpoint skips."""
    if not mill:
        return ""
    parts = [(label, self_share(mill, pattern)) for label, pattern in SERVING_PARTS]
    if any(p is None for _, p in parts):
        return ""
    shares = [(label, p or 0.0) for label, p in parts]
    alone = sum(p for label, p in shares if label not in BARE_WORK)
    text = (
        "Reason (py-spy self time, % of all samples, idle "
        f"{mill.get('idle_share')}%): "
        + ", ".join(f"{label} {p:.1f}%" for label, p in shares)
        + f". Prediction logs and tracing, which the bare endpoint does not do, take {alone:.1f}%"
        "; validation, prediction ids and the answer's extra fields are Millrace's too"
    )
    if bare:
        bare_shares = [(label, self_share(bare, pattern) or 0.0) for label, pattern in BARE_PARTS]
        text += "; the bare server: " + ", ".join(f"{label} {p:.1f}%" for label, p in bare_shares)
    return text
