"""Start, stop, inspect and wait for a local stack (Kafka + S3 + Zipkin) in one home folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

from millrace_infra.components import Component, components, kafka_node
from millrace_infra.config import StackConfig
from millrace_infra.errors import StackError, StackNotReady
from millrace_infra.kafka import kafka_dir, tls_dir
from millrace_infra.kafka_acls import ADMIN_USER
from millrace_infra.kafka_fetch import fetch_kafka
from millrace_infra.kafka_security import read_credentials
from millrace_infra.ports import busy_ports
from millrace_infra.process import terminate, wait_exit
from millrace_infra.s3_security import make_buckets
from millrace_infra.state import StackInfo, read_state, remove_state, write_state
from millrace_infra.tls import TlsFiles
from millrace_infra.zipkin import fetch_zipkin

_POLL = 0.2
_RESTART_PORT_WAIT = 30.0
"""A server started again on its ports (after kill_broker, stop_component) waits this long
for them to be free: on a port in the ephemeral range (ports chosen by hand) a client's
connection may hold one until it closes. with_free_ports blocks are outside that range."""


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    pid: int | None
    endpoint: str
    healthy: bool
    log: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@contextmanager
def _locked(config: StackConfig) -> Iterator[None]:
    # Two `up`s at once (a CLI and a test session) must not both launch servers.
    config.home.mkdir(parents=True, exist_ok=True)
    with (config.home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start(config: StackConfig, *, timeout: float = 90.0) -> StackInfo:
    """Start whatever is not running yet and wait until every server answers.

    Idempotent: with the stack already up it only re-checks readiness. If a server this
    call launched never gets ready, it is stopped again before the error is raised.
    Kafka's jars and (with config.zipkin) Zipkin's jar are fetched first if missing (with
    Maven, seconds to a minute).
    """
    config.validate()
    launched: list[Component] = []
    try:
        with _locked(config):
            _refuse_other_ports(config)
            fetch_kafka(config.cache)
            if config.zipkin:
                fetch_zipkin(config.cache)
            elif any(c.running_pid() for c in components(config, every=True) if c.name == "zipkin"):
                # Already running from an earlier `up`: it stays part of the stack.
                config = replace(config, zipkin=True)
            for comp in components(config):
                if comp.running_pid() is None:
                    _launch(comp)
                    launched.append(comp)
            pids = {c.name: c.running_pid() or 0 for c in components(config)}
            write_state(config, pids)
        info = wait_ready(config, timeout=timeout)
        if config.secure:
            _provision(config)
        return info
    except BaseException:
        terminate([p for c in launched if (p := c.running_pid()) is not None], timeout=15.0)
        raise


def _provision(config: StackConfig) -> None:
    # Imported here: only a secured start needs librdkafka loaded.
    from millrace_infra.kafka_provision import provision

    credentials = read_credentials(kafka_dir(config)) or {}
    provision(
        StackInfo.for_config(config).kafka_bootstrap,
        TlsFiles(tls_dir(config)).ca_cert,
        credentials[ADMIN_USER],
    )
    make_buckets(config)


def kafka_client_env(config: StackConfig, principal: str) -> dict[str, str]:
    """MILLRACE_KAFKA_* settings for a client of the secured stack acting as `principal`
    (a user name such as ``millrace-registry``, or short: ``registry``, ``data-teams``)."""
    if not config.secure:
        raise StackError(f"the stack in {config.home} is not secured: it has no principals")
    return StackInfo.for_config(config).kafka_env(principal)


def _refuse_other_ports(config: StackConfig) -> None:
    recorded = read_state(config.home)
    if recorded is None or (
        recorded.ports_dict() == config.ports_dict() and recorded.brokers == config.brokers
    ):
        return
    if any(c.running_pid() is not None for c in components(recorded, every=True)):
        raise StackError(
            f"a stack is already running in {config.home} on other ports or with another "
            f"number of Kafka brokers ({recorded.ports_dict()}, {recorded.brokers} broker(s)); "
            "stop it first (millrace-stack down)"
        )


def _launch(comp: Component, *, port_wait: float = 0.0) -> None:
    """Launch comp; its ports must be free, or become free within port_wait seconds."""
    deadline = time.monotonic() + port_wait
    while (busy := busy_ports(comp.ports)) and time.monotonic() < deadline:
        time.sleep(_POLL)
    if busy:
        raise StackError(
            f"{comp.name}: port(s) {busy} already in use; another stack or server holds them "
            "(choose other ports with MILLRACE_STACK_BASE_PORT or --base-port)"
        )
    comp.pid_file.parent.mkdir(parents=True, exist_ok=True)
    comp.pid_file.write_text(f"{comp.launch()}\n")


def wait_ready(config: StackConfig, *, timeout: float = 90.0) -> StackInfo:
    """Poll until Kafka serves requests, S3 answers HTTP and Zipkin reports itself healthy;
    fail fast if a server dies."""
    deadline = time.monotonic() + timeout
    pending = list(components(config))
    while True:
        for comp in list(pending):
            if comp.running_pid() is None:
                raise StackNotReady(
                    f"{comp.name} is not running ({comp.how_it_ended()}).\n{comp.log_tail()}"
                )
            if comp.probe():
                pending.remove(comp)
        if not pending:
            return StackInfo.for_config(config)
        if time.monotonic() >= deadline:
            tails = "\n".join(c.log_tail() for c in pending)
            names = ", ".join(c.name for c in pending)
            raise StackNotReady(f"{names} not ready after {timeout:.0f} s.\n{tails}")
        time.sleep(_POLL)


def kill_broker(config: StackConfig, node_id: int, *, timeout: float = 15.0) -> int:
    """SIGKILL Kafka node node_id, as a crash would (no controlled shutdown, no leader
    hand-over); return the pid it had. For fault tests on a local cluster."""
    comp = kafka_node(config, node_id)
    pid = comp.running_pid()
    if pid is None:
        raise StackError(f"{comp.name} is not running")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    if not wait_exit(pid, timeout):
        raise StackError(f"{comp.name} (pid {pid}) still runs {timeout:.0f} s after SIGKILL")
    return pid


def start_broker(config: StackConfig, node_id: int, *, timeout: float = 90.0) -> int:
    """Start Kafka node node_id again (after kill_broker) on its data and wait until it
    serves requests; return its pid. A no-op wait if it runs."""
    return start_component(config, kafka_node(config, node_id).name, timeout=timeout)


def stop(config: StackConfig, *, timeout: float = 30.0) -> list[str]:
    """Stop every server of the stack in config.home; return the names that were running."""
    with _locked(config):
        comps = components(config, every=True)
        running = {c.name: pid for c in comps if (pid := c.running_pid()) is not None}
        terminate(list(running.values()), timeout=timeout)
        for comp in comps:
            comp.pid_file.unlink(missing_ok=True)
        remove_state(config.home)
    return list(running)


def _component(config: StackConfig, name: str) -> Component:
    found = [c for c in components(config, every=True) if c.name == name]
    if not found:
        raise StackError(f"no component {name!r} in this stack")
    return found[0]


def stop_component(config: StackConfig, name: str, *, timeout: float = 30.0) -> bool:
    """Stop one server (``s3``, ``kafka``, ``zipkin``) and leave the rest running: to see the
    platform ride out that server's outage. Its data stays; ``start_component`` brings it back
    on the same ports. Returns whether it was running."""
    with _locked(config):
        comp = _component(config, name)
        pid = comp.running_pid()
        if pid is not None:
            terminate([pid], timeout=timeout)
        comp.pid_file.unlink(missing_ok=True)
    return pid is not None


def start_component(config: StackConfig, name: str, *, timeout: float = 90.0) -> int:
    """Start one server again (same ports, same data) and wait until it answers; return its
    pid. A no-op wait if it runs."""
    with _locked(config):
        comp = _component(config, name)
        if comp.running_pid() is None:
            _launch(comp, port_wait=_RESTART_PORT_WAIT)
        pid = comp.running_pid() or 0
        write_state(config, {c.name: c.running_pid() or 0 for c in components(config)})
    deadline = time.monotonic() + timeout
    while not comp.probe():
        if comp.running_pid() is None:
            raise StackNotReady(
                f"{name} is not running ({comp.how_it_ended()}).\n{comp.log_tail()}"
            )
        if time.monotonic() >= deadline:
            raise StackNotReady(f"{name} not ready after {timeout:.0f} s.\n{comp.log_tail()}")
        time.sleep(_POLL)
    return pid


def mend(config: StackConfig, *, timeout: float = 90.0) -> list[str]:
    """Start again every server of the stack that does not answer (a fault test, or a crash,
    left it down), on its ports and data; return their names. A server that runs but does
    not answer is waited for, not restarted."""
    down = [comp.name for comp in components(config) if not comp.probe()]
    for name in down:
        start_component(config, name, timeout=timeout)
    return down


def status(config: StackConfig) -> dict[str, ComponentStatus]:
    """Per component: running (pid alive), healthy (answers its protocol), endpoint, pid.

    Zipkin is listed when the config enables it, or when it runs anyway.
    """
    result = {}
    for comp in components(config, every=True):
        pid = comp.running_pid()
        if comp.name == "zipkin" and not config.zipkin and pid is None:
            continue
        result[comp.name] = ComponentStatus(
            name=comp.name,
            running=pid is not None,
            pid=pid,
            endpoint=comp.endpoint,
            healthy=pid is not None and comp.probe(),
            log=str(comp.logs[-1]),
        )
    return result
