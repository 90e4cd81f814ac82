"""The one process layer: every server the project starts (the stack's, `millrace up`'s, the
e2e suite's, the bench's) is launched, waited for, measured and stopped here.

A server runs in its own session with its output appended to a log; it is found again by
pid, so a later CLI call can probe or stop what an earlier one started (detached). ADR 0005
says why this and not a process supervisor.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from millrace_infra.ports import HOST, free_port
from millrace_infra.probes import http_status
from millrace_infra.process import how_it_ended, is_ours, spawn, terminate, wait_exit


class ProcessDied(RuntimeError):
    """The process exited before it was ready."""


class NotReady(TimeoutError):
    """The process runs, but did not answer in time."""


def pinned(argv: Sequence[str], cpus: Sequence[int] | None) -> list[str]:
    """argv run by taskset on cpus, so its threads and children stay there (no-op without)."""
    taskset = shutil.which("taskset")
    if not cpus or taskset is None:
        return list(argv)
    return [taskset, "-c", ",".join(str(c) for c in cpus), *argv]


def log_tail(*logs: Path, lines: int = 40) -> str:
    """The last lines of each log that exists, under a header naming it; "" if none does."""
    parts = []
    for log in logs:
        if log.is_file():
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts)


@dataclass(frozen=True)
class Process:
    """A server launched by ``launch``, or found again from a recorded pid.

    marker, a text its command line contains, tells it from a later process that got the
    same pid; without one (a child of this process) the pid alone identifies it.
    """

    name: str
    pid: int
    port: int
    log: Path
    marker: str = ""
    ready_path: str = "/health/ready"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def running(self) -> bool:
        return is_ours(self.pid, self.marker)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines=lines) or f"(no log at {self.log})"

    def wait_ready(self, path: str | None = None, *, within: float = 90.0) -> float:
        """Poll GET path (ready_path if None) until it answers 200; the seconds it took.

        Fails fast, with the end of the log, if the process dies meanwhile.
        """
        path = path or self.ready_path
        began = time.monotonic()
        while True:
            if not self.running():
                ended = how_it_ended(self.pid)
                raise ProcessDied(
                    f"{self.name} exited before it was ready ({ended}).\n{self.log_tail()}"
                )
            if http_status(HOST, self.port, path) == 200:
                return time.monotonic() - began
            if time.monotonic() - began > within:
                raise NotReady(
                    f"{self.name} not ready at {self.url}{path} after {within:.0f}s.\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.2)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM its process group, SIGKILL after grace."""
        if self.running():
            terminate([self.pid], timeout=grace)
        with contextlib.suppress(ValueError):
            _attached.remove(self)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, no offset is committed, as in a crash."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            wait_exit(self.pid, 10.0)

    def _tree(self) -> list[psutil.Process]:
        """It and its descendants (``mlflow models serve`` runs uvicorn as a child)."""
        try:
            top = psutil.Process(self.pid)
            return [top, *top.children(recursive=True)]
        except psutil.Error:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the tree, in MB; 0 once it is gone."""
        return _total(self._tree(), lambda p: p.memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        """User + system CPU time of the tree (every thread)."""
        return _total(self._tree(), lambda p: (t := p.cpu_times()).user + t.system)


def _total(procs: Iterable[psutil.Process], read: Callable[[psutil.Process], float]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):  # one that exits meanwhile counts for 0
            total += read(proc)
    return total


_attached: list[Process] = []
"""Launched without ``detached``: stopped when this Python process exits, at the latest."""


def launch(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str],
    marker: str = "",
    ready_path: str = "/health/ready",
    cpus: Sequence[int] | None = None,
    detached: bool = False,
) -> Process:
    """Start argv (pinned to cpus, if given) after a banner line in its log.

    Detached, it outlives this Python process (find it again by pid and marker); otherwise
    ``stop_attached`` stops it at exit.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with log.open("a") as handle:
        handle.write(f"\n===== {name} on port {port} at {started}: {shlex.join(argv)} =====\n")
    pid = spawn(pinned(argv, cpus), log=log, env=env)
    process = Process(name, pid, port, log, marker, ready_path)
    if not detached:
        _attached.append(process)
    return process


def launch_service(
    name: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    port: int | None = None,
    label: str = "",
    ready_path: str = "/health/ready",
    cpus: Sequence[int] | None = None,
    detached: bool = False,
    argv: Sequence[str] = (),
) -> Process:
    """``python -m millrace_<name>`` on port (a free one if None), env over this process's.

    argv, if given, runs instead (a test's wrapper around the service); it must name the
    module ``millrace_<name>``, by which the process is recognised.

    label names the process and its log (``<log_dir>/<label>.log``) when several replicas
    of one service run side by side.
    """
    port = port or free_port()
    module = f"millrace_{name}"
    return launch(
        label or name,
        list(argv) or [sys.executable, "-m", module],
        port=port,
        log=log_dir / f"{label or name}.log",
        env={**os.environ, **env, "MILLRACE_HTTP_PORT": str(port)},
        marker=module,
        ready_path=ready_path,
        cpus=cpus,
        detached=detached,
    )


@atexit.register
def stop_attached() -> None:
    """Stop every process launched without ``detached`` that still runs, newest first."""
    while _attached:
        with contextlib.suppress(Exception):
            _attached.pop().stop(grace=10.0)
