"""The real local stack and the servers under test, started as processes on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from millrace_contracts import ModelVersionInfo
from millrace_infra.launcher import Process, launch, launch_service
from millrace_infra.ports import free_port
from millrace_shared.registry.models import ModelSummary, SignedPromotion
from millrace_shared.signing import KeyPair, SigningKey, ensure_keypair
from pydantic import TypeAdapter

from .envs import EnvSpec

BASELINES = Path(__file__).resolve().parent / "baselines"
# The local stack has dev credentials; services default to prod.
QUIET = {"PYTHONWARNINGS": "ignore", "MILLRACE_LOG_LEVEL": "INFO", "MILLRACE_ENVIRONMENT": "dev"}


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def server_cpu() -> int:
    """The CPU servers are pinned to: the last one; clients get the others."""
    return cpus()[-1]


def client_cpus() -> list[int]:
    rest = [c for c in cpus() if c != server_cpu()]
    return rest or cpus()


@contextlib.contextmanager
def stack_on_client_cpus(stack: Stack) -> Iterator[list[str]]:
    """Kafka, S3 and Zipkin (every thread of their processes) on the client CPUs meanwhile.

    The server CPU then runs only the server under test. Otherwise the broker's work for the
    prediction logs lands on that core at the scheduler's whim (the bare baselines send no
    logs), where in production the cluster runs on machines of its own. Yields what was moved.
    """
    moved = _set_stack_affinity(stack, client_cpus())
    try:
        yield moved
    finally:
        _set_stack_affinity(stack, cpus())


def _set_stack_affinity(stack: Stack, allowed: list[int]) -> list[str]:
    import psutil
    from millrace_infra.components import components

    moved = []
    for component in components(stack.config):
        pid = component.running_pid()
        if pid is None:
            continue
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                for thread in proc.threads():  # a process's affinity is its threads' own
                    with contextlib.suppress(psutil.Error, OSError):
                        os.sched_setaffinity(thread.id, allowed)
        except psutil.Error:
            continue
        moved.append(component.name)
    return moved


@dataclass
class Stack:
    """Kafka + S3 (+ Zipkin) from millrace_infra, in a home of its own."""

    home: Path
    zipkin: bool
    info: Any = None
    config: Any = None

    def start(self) -> Stack:
        from millrace_infra import StackConfig, start

        self.config = StackConfig.with_free_ports(self.home, zipkin=self.zipkin)
        self.info = start(self.config, timeout=180)
        return self

    def stop(self) -> None:
        if self.config is not None:
            from millrace_infra import stop

            stop(self.config)

    @property
    def keys(self) -> KeyPair:
        """The home's promotion-signing pair (ADR 0007): private for the registry (or the
        stub standing in for it), public for deployment."""
        return ensure_keypair(self.home)

    def registry_env(self) -> dict[str, str]:
        return {"MILLRACE_REGISTRY_SIGNING_KEY": self.keys.private}

    def deployment_env(self) -> dict[str, str]:
        return {"MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY": self.keys.public}

    def env(self, principal: str | None = None) -> dict[str, str]:
        """The stack's MILLRACE_* settings; with `principal` (a service's name), Kafka's
        credentials as that principal: services run as shipped, each with its own ACLs."""
        env: dict[str, str] = self.info.env()
        env.pop("MILLRACE_ZIPKIN_ENDPOINT", None)  # tracing export is chosen per process
        env.pop("MILLRACE_ZIPKIN_URL", None)
        if principal is not None:
            env |= self.kafka_env(principal)
        return env

    def kafka_env(self, principal: str) -> dict[str, str]:
        """MILLRACE_KAFKA_* for a client acting as `principal` (the same SASL_SSL listener
        for Millrace and the baselines, so TLS costs both alike), and its S3 identity."""
        env: dict[str, str] = self.info.kafka_env(principal) | self.info.s3_env(principal)
        return env

    @property
    def zipkin_endpoint(self) -> str | None:
        """Where services export spans: the stack's Zipkin (the exporter the stack ships)."""
        value: str | None = self.info.env().get("MILLRACE_ZIPKIN_ENDPOINT")
        return value

    @property
    def zipkin_url(self) -> str | None:
        value: str | None = self.info.zipkin_url
        return value

    def settings(self, name: str = "bench", principal: str = "admin") -> Any:
        """The harness's own clients act as the stack's admin by default: they seed events
        of several parties and rewind or recreate topics between runs."""
        from millrace_shared.settings import MillraceSettings

        env = self.env(principal)
        fields = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
        return MillraceSettings.model_validate(fields | {"service_name": name})

    def store(self) -> Any:
        from millrace_shared.objectstore import MinioObjectStore

        settings = self.settings()
        store = MinioObjectStore.from_settings(settings)
        store.ensure_buckets(settings.buckets)
        return store


class RegistryStub:
    """Answers deployment's start-up questions (``GET /models``, ``/models/{name}/production``
    and ``/production/promotion``, signed with ``keys``) the way the registry's REST API does,
    for a fixed set of production versions."""

    def __init__(self, infos: list[ModelVersionInfo], keys: KeyPair) -> None:
        self.infos = {i.model_name: i for i in infos}
        signer = SigningKey.parse(keys.private)
        self.promotions = {
            i.model_name: _signed(
                SignedPromotion(model=i, sequence=1, event_id=uuid.uuid4()), signer
            )
            .model_dump_json()
            .encode()
            for i in infos
        }
        listing = TypeAdapter(list[ModelSummary]).dump_json(
            [
                ModelSummary(
                    name=i.model_name, production_version=i.version, latest_version=i.version
                )
                for i in infos
            ]
        )
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                production = len(parts) == 3 and parts[::2] == ["models", "production"]
                promotion = len(parts) == 4 and parts[2:] == ["production", "promotion"]
                if parts == ["models"]:
                    data = listing
                elif promotion and parts[0] == "models" and parts[1] in stub.promotions:
                    data = stub.promotions[parts[1]]
                elif production and parts[1] in stub.infos:
                    data = stub.infos[parts[1]].model_dump_json().encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RegistryStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Servers:
    """Every server process of one benchmark, stopped together."""

    logs: Path
    procs: list[Process] = field(default_factory=list)

    def add(self, proc: Process) -> Process:
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def get_json(port: int, path: str, timeout: float = 10) -> Any:
    """GET a local server's JSON answer (``OSError`` if it does not answer)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def servers(logs: Path) -> Iterator[Servers]:
    group = Servers(logs)
    try:
        yield group
    finally:
        group.stop()


def millrace_service(
    name: str,
    logs: Path,
    env: dict[str, str],
    *,
    port: int | None = None,
    cpu: list[int] | None = None,
    label: str = "",
) -> Process:
    return launch_service(name, {**QUIET, **env}, logs, port=port, label=label, cpus=cpu)


PLATFORM = ("ingestion", "training", "registry", "monitoring", "deployment")


def platform(stack: Stack, logs: Path, env: dict[str, str], tag: str) -> dict[str, Process]:
    """Every service once, started (not yet ready), by service name: each as its own Kafka
    principal (with ``env`` added), labelled ``NAME-TAG``, the deployment reading this set's
    registry with replica id ``tag``. Unpinned, unlike the serving rows' ``deployment``."""
    procs: dict[str, Process] = {}
    try:
        for name in PLATFORM[:-1]:
            own = {**env, **stack.kafka_env(name)}
            if name == "registry":
                own |= stack.registry_env()
            procs[name] = millrace_service(name, logs, own, label=f"{name}-{tag}")
        procs["deployment"] = millrace_service(
            "deployment",
            logs,
            {
                **env,
                **stack.kafka_env("deployment"),
                **stack.deployment_env(),
                "MILLRACE_DEPLOYMENT_REGISTRY_URL": procs["registry"].url,
                "MILLRACE_DEPLOYMENT_REPLICA_ID": tag,
            },
            label=f"deployment-{tag}",
        )
    except BaseException:  # the caller never sees these: stop them here
        for proc in reversed(list(procs.values())):
            proc.stop()
        raise
    return procs


def wait_platform(procs: dict[str, Process], within: float) -> None:
    """Until every service is ready (the deployment: live, as it has no model yet)."""
    for key, proc in procs.items():
        proc.wait_ready(
            "/health/live" if key.startswith("deployment") else "/health/ready", within=within
        )


def deployment(
    stack: Stack,
    registry_url: str,
    logs: Path,
    *,
    label: str,
    zipkin: str | None = None,
    sample_ratio: float | None = None,
) -> Process:
    env = {
        **stack.env("deployment"),
        **stack.deployment_env(),
        "MILLRACE_DEPLOYMENT_REGISTRY_URL": registry_url,
        "MILLRACE_DEPLOYMENT_REPLICA_ID": label,
    }
    if zipkin:
        env["MILLRACE_ZIPKIN_ENDPOINT"] = zipkin
    if sample_ratio is not None:
        env["MILLRACE_TRACE_SAMPLE_RATIO"] = str(sample_ratio)
    return millrace_service("deployment", logs, env, cpu=[server_cpu()], label=label)


def _server(label: str, argv: list[str], port: int, logs: Path, env: dict[str, str]) -> Process:
    """A baseline server, pinned like Millrace's, on the same CPU."""
    env = {**os.environ, **QUIET, **env}
    return launch(label, argv, port=port, log=logs / f"{label}.log", env=env, cpus=[server_cpu()])


def mlflow_server(env: EnvSpec, model_dir: Path, logs: Path, label: str) -> tuple[Process, int]:
    port = free_port()
    command = [
        str(env.bin("mlflow")),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-w",
        "1",
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
    ]
    # `mlflow models serve` execs `uvicorn` from PATH: its own env's.
    path = {"PATH": f"{env.path / 'bin'}:{os.environ.get('PATH', '')}"}
    return _server(label, command, port, logs, path), port


def bare_server(
    model_path: Path, features: list[str], logs: Path, label: str
) -> tuple[Process, int]:
    port = free_port()
    command = [sys.executable, str(BASELINES / "bare_server.py"), str(model_path), str(port)]
    return _server(label, [*command, *features], port, logs, {}), port


def onnx_server(
    model_path: Path, features: list[str], logs: Path, label: str
) -> tuple[Process, int]:
    """Bare FastAPI + orjson + ONNX Runtime (the pipeline converted by skl2onnx)."""
    port = free_port()
    command = [sys.executable, str(BASELINES / "onnx_server.py"), str(model_path), str(port)]
    return _server(label, [*command, *features], port, logs, {}), port


def trivial_server(logs: Path) -> tuple[Process, int]:
    port = free_port()
    command = [sys.executable, str(BASELINES / "trivial_server.py"), str(port)]
    return _server("trivial", command, port, logs, {}), port


def _signed(promotion: SignedPromotion, signer: SigningKey) -> SignedPromotion:
    return promotion.model_copy(update={"signature": signer.sign(promotion.signed_facts())})
