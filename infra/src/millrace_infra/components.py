"""The servers of a stack, described uniformly so start/stop/status can loop over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from millrace_infra import kafka, seaweed, zipkin
from millrace_infra.config import StackConfig
from millrace_infra.launcher import log_tail
from millrace_infra.probes import http_answers, kafka_answers, zipkin_answers
from millrace_infra.process import how_it_ended, is_alive, is_ours, read_pid
from millrace_infra.tls import TlsFiles

_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Component:
    name: str
    folder: Path
    pid_file: Path
    logs: tuple[Path, ...]
    port: int
    ports: tuple[int, ...]
    launch: Callable[[], int]
    probe: Callable[[], bool]

    @property
    def endpoint(self) -> str:
        return f"{_HOST}:{self.port}"

    def running_pid(self) -> int | None:
        """The pid from the pid file if that process is alive and is really ours."""
        pid = read_pid(self.pid_file)
        return pid if pid is not None and is_ours(pid, str(self.folder)) else None

    def how_it_ended(self) -> str:
        pid = read_pid(self.pid_file)
        if pid is None:
            return "no pid recorded"
        if is_alive(pid):
            return f"pid {pid} runs, but its command line does not name {self.folder}"
        return f"pid {pid} {how_it_ended(pid)}"

    def log_tail(self, lines: int = 25) -> str:
        return log_tail(*self.logs, lines=lines) or f"(no log written under {self.folder})"


def components(config: StackConfig, *, every: bool = False) -> tuple[Component, ...]:
    """S3 first: it is ready in about a second, while Kafka's JVM is still formatting.

    Zipkin only when the config enables it, or with `every` (stop must find a Zipkin that a
    previous `up` started even if this config has it off).
    """
    s3_dir = seaweed.s3_dir(config)
    base = (
        Component(
            name="s3",
            folder=s3_dir,
            pid_file=s3_dir / "weed.pid",
            logs=(s3_dir / "weed.log",),
            port=config.s3_port,
            ports=config.s3_ports(),
            launch=partial(seaweed.launch, config),
            probe=partial(http_answers, _HOST, config.s3_port),
        ),
        *(kafka_node(config, n) for n in config.node_ids()),
    )
    return (*base, _zipkin(config)) if config.zipkin or every else base


def kafka_node(config: StackConfig, node_id: int = 1) -> Component:
    """Kafka node node_id (broker + controller): ``kafka``, or ``kafka-<n>`` in a cluster."""
    folder = kafka.node_dir(config, node_id)
    port, controller = config.node_ports(node_id)
    return Component(
        name=kafka.node_name(node_id),
        folder=folder,
        pid_file=folder / "kafka.pid",
        logs=(folder / "logs" / "kafka.out", folder / "logs" / "server.log"),
        port=port,
        ports=(port, controller),
        launch=partial(kafka.launch, config, node_id),
        probe=partial(
            kafka_answers,
            _HOST,
            port,
            cafile=TlsFiles(kafka.tls_dir(config)).ca_cert if config.secure else None,
        ),
    )


def _zipkin(config: StackConfig) -> Component:
    folder = zipkin.zipkin_dir(config)
    return Component(
        name="zipkin",
        folder=folder,
        pid_file=folder / "zipkin.pid",
        logs=(folder / "zipkin.log",),
        port=config.zipkin_port,
        ports=(config.zipkin_port,),
        launch=partial(zipkin.launch, config),
        probe=partial(zipkin_answers, _HOST, config.zipkin_port),
    )
