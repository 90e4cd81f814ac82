"""#9's profile: what a service's resident memory is made of, measured in the run.

Two cheap measurements, no instrumentation inside the service:

- ``by_backing``: the service's own ``/proc/<pid>/smaps`` (through psutil), its resident
  pages summed by what backs them: each installed package's files (the shared libraries it
  loaded), the interpreter, other system libraries, and anonymous memory (Python objects,
  malloc and pyarrow/numpy buffers, CPython's arenas).
- ``ImportProbe``: a fresh interpreter of the same venv that only imports what the service
  imports (at start, then what a job or a model load imports later), its RSS after each
  step: how much of the service's RSS its imports alone account for.

The probe runs in the background while the services start (started before, read after they
are ready), so it adds little to the bench's time.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import psutil

MB = 2**20

# Every step's RSS read from /proc/self/status (VmRSS), as the bench reads a service's.
_PROBE = """
import importlib, json, sys
def rss():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmRSS:')) / 1024
out = {'bare': rss()}
for step in json.loads(sys.argv[1]):
    for module in step[1]:
        importlib.import_module(module)
    out[step[0]] = rss()
print(json.dumps(out))
"""

# What each service imports at start (its ``__main__`` module, imported, not run), then what
# it imports when it first does its work. The lists name modules; the sizes are measured.
STEPS: dict[str, list[tuple[str, list[str]]]] = {
    "training": [
        ("start", ["millrace_training.__main__"]),
        (
            "job",
            [
                "millrace_training.core.candidate",
                "millrace_training.core.card",
                "millrace_training.core.champion",
                "millrace_training.core.data",
                "millrace_training.core.metrics",
                "millrace_training.core.split",
            ],
        ),
    ],
    "ingestion": [
        ("start", ["millrace_ingestion.__main__"]),
        ("job", ["millrace_ingestion.core.pipeline"]),
    ],
    "deployment": [
        ("start", ["millrace_deployment.__main__"]),
        (
            "models",
            [
                "millrace_deployment.core.onnx_runtime",
                "onnxruntime",
                "skl2onnx",
                "onnx",
                "scipy.special",
                "sklearn.ensemble",
                "sklearn.linear_model",
                "skops.io",
            ],
        ),
    ],
}


class ImportProbe:
    """``STEPS[service]`` imported in a fresh interpreter, started now, read by ``result``."""

    def __init__(self, service: str) -> None:
        steps = STEPS[service]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _PROBE, json.dumps(steps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self, within: float = 180.0) -> dict[str, float] | None:
        """RSS (MB) of the bare interpreter and after each step; None if the probe failed."""
        try:
            out, _ = self._proc.communicate(timeout=within)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        if self._proc.returncode != 0:
            return None
        with contextlib.suppress(ValueError):
            parsed: dict[str, float] = json.loads(out.strip().splitlines()[-1])
            return parsed
        return None

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def probes(services: Sequence[str]) -> dict[str, ImportProbe]:
    return {s: ImportProbe(s) for s in services}


def read_probes(running: dict[str, ImportProbe]) -> dict[str, dict[str, float] | None]:
    try:
        return {s: p.result() for s, p in running.items()}
    finally:
        for p in running.values():
            p.stop()


def by_backing(pid: int, top: int = 6) -> dict[str, float]:
    """The process's resident MB by what backs it, the ``top`` largest, largest first."""
    sizes: dict[str, float] = defaultdict(float)
    try:
        maps = psutil.Process(pid).memory_maps(grouped=True)
    except psutil.Error:
        return {}
    for m in maps:
        sizes[_backing(m.path)] += m.rss / MB
    ranked = sorted(sizes.items(), key=lambda kv: kv[1], reverse=True)
    return {name: round(mb, 1) for name, mb in ranked[:top] if mb >= 0.5}


def _backing(path: str) -> str:
    if not path or path.startswith("["):  # [heap], [anon], [stack] ...
        return "anonymous"
    if "/site-packages/" in path:
        top = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        # numpy.libs, scipy.libs, pyarrow's bundled libs; a top-level extension module
        return top.removesuffix(".libs").split(".", 1)[0].lstrip("_")
    if "libpython" in path or "/bin/python" in path:
        return "python"
    return "system libraries"


def profile(pid: int, probe: dict[str, float] | None, timeline: dict[str, float]) -> dict[str, Any]:
    """One service's profile: its mappings now, the import probe, and RSS samples the
    benchmark took (``timeline``: label -> MB, in the order taken)."""
    return {
        "by_backing": by_backing(pid),
        "import_only": probe,
        "timeline": {k: round(v, 1) for k, v in timeline.items()},
    }
