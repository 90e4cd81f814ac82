"""Processes the bench starts: pinned to CPUs, measured (RSS, CPU time), always stopped."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

_RUNNING: list[Proc] = []


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def server_cpu() -> int:
    """The CPU servers are pinned to: the last one; clients get the others."""
    return cpus()[-1]


def client_cpus() -> list[int]:
    rest = [c for c in cpus() if c != server_cpu()]
    return rest or cpus()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(command: Sequence[str], cpu_list: Sequence[int] | None) -> list[str]:
    if not cpu_list or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", ",".join(str(c) for c in cpu_list), *command]


@dataclass
class Proc:
    name: str
    command: list[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {' '.join(self.command)} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                start_new_session=True,
            )
        _RUNNING.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with contextlib.suppress(ValueError):
            _RUNNING.remove(self)

    def wait_http(self, url: str, within: float = 120.0, ok: int = 200) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == ok:
                        return
            except urllib.error.HTTPError:
                pass
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready at {url} within {within}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def tree(self) -> list[int]:
        """This process and its descendants (``mlflow models serve`` runs uvicorn as a child)."""
        return process_tree(self.pid)

    def rss_mb(self) -> float:
        return sum(rss_mb(p) for p in self.tree())

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p) for p in self.tree())


def stop_all() -> None:
    for proc in list(reversed(_RUNNING)):
        with contextlib.suppress(Exception):
            proc.stop(timeout=10)


atexit.register(stop_all)


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            pids.append(child)
            frontier.append(child)
    return pids


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) in MB; 0 for a process that is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_port(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {within}s")
