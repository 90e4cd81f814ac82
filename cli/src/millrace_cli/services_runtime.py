"""Services as detached background processes, recorded in ``<home>/services.json``.

Each service runs as ``python -m millrace_<name>`` in its own session (so ``down`` can stop
it with whatever it forked), its output appended to ``<home>/logs/<name>.log``. The record
keeps pid, port and log, so any later ``millrace`` finds, probes and stops it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import httpx
from millrace_infra.process import cmdline_contains, is_alive, spawn, terminate

from .catalog import ServiceSpec
from .errors import CliError, ExitCode

SERVICES_FILE = "services.json"
LOG_DIR = "logs"
_POLL = 0.25


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    pid: int
    port: int
    log: str
    started_at: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        """Alive, and really this service (a stale pid may belong to anything by now)."""
        return is_alive(self.pid) and cmdline_contains(self.pid, f"millrace_{self.name}")

    def log_tail(self, lines: int = 40) -> str:
        path = Path(self.log)
        if not path.is_file():
            return f"(no log at {path})"
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {path} (last {len(tail)} lines)\n" + "\n".join(tail)


_RECORD_FIELDS = tuple(f.name for f in fields(ServiceRecord))


class ServicesFile:
    """``<home>/services.json``: the services ``up`` started, by name."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @property
    def path(self) -> Path:
        return self.home / SERVICES_FILE

    @property
    def log_dir(self) -> Path:
        return self.home / LOG_DIR

    def read(self) -> dict[str, ServiceRecord]:
        try:
            payload = json.loads(self.path.read_text())
            return {
                name: ServiceRecord(**{k: record[k] for k in _RECORD_FIELDS})
                for name, record in payload.get("services", {}).items()
            }
        except (OSError, ValueError, TypeError, KeyError):
            return {}

    def write(self, records: Mapping[str, ServiceRecord]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        payload = {
            "home": str(self.home),
            "services": {n: asdict(r) | {"url": r.url} for n, r in sorted(records.items())},
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        tmp.replace(self.path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One ``up``/``down`` at a time per home."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / ".services.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def launch(spec: ServiceSpec, port: int, env: Mapping[str, str], log_dir: Path) -> ServiceRecord:
    """Start ``python -m millrace_<name>`` detached; it keeps running after the CLI exits."""
    log = log_dir / f"{spec.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with log.open("a") as handle:
        handle.write(f"\n===== millrace up: {spec.name} on port {port} at {started} =====\n")
    pid = spawn(
        [sys.executable, "-m", spec.module],
        log=log,
        env={**env, "MILLRACE_HTTP_PORT": str(port)},
    )
    return ServiceRecord(name=spec.name, pid=pid, port=port, log=str(log), started_at=started)


async def wait_ready(record: ServiceRecord, path: str, within: float) -> float:
    """Poll ``url + path`` until it answers 200; return the seconds it took.

    Fails fast, with the end of the service's log, if the process dies meanwhile.
    """
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if not record.running():
                raise CliError(
                    f"{record.name} exited before it was ready.\n{record.log_tail()}",
                    ExitCode.FAILURE,
                )
            try:
                response = await client.get(record.url + path)
                if response.status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            if time.monotonic() - began > within:
                raise CliError(
                    f"{record.name} not ready at {record.url}{path} after {within:.0f}s.\n"
                    f"{record.log_tail()}",
                    ExitCode.TIMEOUT,
                )
            await asyncio.sleep(_POLL)


def stop(records: Mapping[str, ServiceRecord], timeout: float = 20.0) -> list[str]:
    """SIGTERM each running service's process group, SIGKILL after ``timeout``."""
    running = {name: r.pid for name, r in records.items() if r.running()}
    terminate(list(running.values()), timeout=timeout)
    return list(running)
