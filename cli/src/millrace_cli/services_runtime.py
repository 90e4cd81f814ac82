"""Services as detached background processes, recorded in ``<home>/services.json``.

Each service runs as ``python -m millrace_<name>`` in its own session (so ``down`` can stop
it with whatever it forked), its output appended to ``<home>/logs/<name>.log``. The record
keeps pid, port and log, so any later ``millrace`` finds, probes and stops it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from millrace_infra.launcher import NotReady, Process, ProcessDied, launch_service
from millrace_infra.process import terminate

from .catalog import ServiceSpec
from .errors import CliError, ExitCode

SERVICES_FILE = "services.json"
LOG_DIR = "logs"


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    pid: int
    port: int
    log: str
    started_at: str

    @property
    def process(self) -> Process:
        return Process(self.name, self.pid, self.port, Path(self.log), f"millrace_{self.name}")

    @property
    def url(self) -> str:
        return self.process.url

    def running(self) -> bool:
        """Alive, and really this service (a stale pid may belong to anything by now)."""
        return self.process.running()


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
    started = datetime.now(UTC).isoformat(timespec="seconds")
    process = launch_service(spec.name, env, log_dir, port=port, detached=True)
    return ServiceRecord(spec.name, process.pid, port, str(process.log), started)


async def wait_ready(record: ServiceRecord, path: str, within: float) -> float:
    """Poll ``url + path`` until it answers 200; return the seconds it took.

    Fails fast, with the end of the service's log, if the process dies meanwhile.
    """
    try:
        return await asyncio.to_thread(record.process.wait_ready, path, within=within)
    except ProcessDied as error:
        raise CliError(str(error), ExitCode.FAILURE) from error
    except NotReady as error:
        raise CliError(str(error), ExitCode.TIMEOUT) from error


def stop(records: Mapping[str, ServiceRecord], timeout: float = 20.0) -> list[str]:
    """SIGTERM each running service's process group, SIGKILL after ``timeout``."""
    running = {name: r.pid for name, r in records.items() if r.running()}
    terminate(list(running.values()), timeout=timeout)
    return list(running)
