"""py-spy profiles of a server under load, summarised as the functions holding the time."""

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
    return {
        "inclusive_focus": focus,
        "samples": total,
        "idle_share": round(100 * idle / total, 1) if total else None,
        "self_percent": share(own),
        "inclusive_percent": share(inclusive),
        "raw": str(path) if path else None,
    }
