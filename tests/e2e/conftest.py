"""The e2e suite: Millrace's services as real processes on the real local stack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from millrace_contracts import TOPICS
from millrace_infra.launcher import Process, launch_service
from millrace_shared.messaging import KafkaEventSink, ensure_topics, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.registry.tokens import hash_token, new_token
from millrace_shared.settings import MillraceSettings
from millrace_shared.signing import KeyPair, ensure_keypair
from millrace_shared.watch import EventWatcher

from .flows import Flow

pytestmark = pytest.mark.e2e

E2E_MAX_DECODED_BYTES = 256 * 1024**2
"""Ingestion's decoded-size limit in the e2e suite (the default is 2 GiB)."""


@pytest.fixture(scope="session")
def e2e_settings(stack_settings_as: Callable[..., MillraceSettings]) -> MillraceSettings:
    """The test side's clients act as the stack's admin: they seed events of several parties
    (data teams' arrivals, the registry's promotions...) and watch every topic."""
    return stack_settings_as("admin", service_name="e2e-test")


@pytest.fixture(scope="session")
def registry_actor() -> str:
    return "e2e-operator"


@pytest.fixture(scope="session")
def registry_token() -> str:
    """The e2e operator's registry token; the registry gets only its hash."""
    return new_token()


ServiceEnv = Callable[[str], dict[str, str]]


def stack_service_env(stack: Any, registry_actor: str, registry_token: str) -> ServiceEnv:
    """A service's environment on ``stack`` (a StackInfo: the session's stack, or a cluster):
    the stack, and Kafka and S3 as that service's own principal."""

    def env(name: str) -> dict[str, str]:
        return {**common, **stack.kafka_env(name), **stack.s3_env(name)}

    common = {
        **stack.env(),
        "MILLRACE_REGISTRY_TOKENS": json.dumps({registry_actor: hash_token(registry_token)}),
        "MILLRACE_KAFKA_RETRY_BACKOFF_SECONDS": "0.2",
        # A dependency's outage is waited out; a short cap resumes the work soon after it ends.
        "MILLRACE_KAFKA_TRANSIENT_BACKOFF_MAX_SECONDS": "2",
        "MILLRACE_LOG_LEVEL": "INFO",
        **({"MILLRACE_OTLP_ENDPOINT": stack.otlp_endpoint} if stack.otlp_endpoint else {}),
    }
    return env


@pytest.fixture(scope="session")
def service_env(local_stack: Any, registry_actor: str, registry_token: str) -> ServiceEnv:
    """A service's environment: the session's stack, and Kafka as that service's own principal."""
    return stack_service_env(local_stack, registry_actor, registry_token)


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def promotion_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """The suite's promotion-signing pair, made for it as ``millrace up`` makes one per home."""
    return ensure_keypair(tmp_path_factory.mktemp("promotion-keys"))


class Platform:
    """The running services, by name."""

    def __init__(self, env: ServiceEnv, log_dir: Path, keys: KeyPair | None = None) -> None:
        self.env = env
        self.log_dir = log_dir
        self.keys = keys
        self.services: dict[str, Process] = {}

    def start(self, name: str, argv: tuple[str, ...] = (), **extra_env: str) -> Process:
        """``argv``: run that (``patched_service.command(...)``) instead of the plain service."""
        env = {**self.env(name), **extra_env}
        if name == "registry" and self.keys is not None:  # the private key: registry only
            env.setdefault("MILLRACE_REGISTRY_SIGNING_KEY", self.keys.private)
        service = launch_service(name, env, self.log_dir, argv=argv)
        self.services[name] = service
        return service

    def start_deployment(self, key: str, argv: tuple[str, ...] = (), **extra_env: str) -> Process:
        """A deployment replica: live at once, ready only once it serves a model.
        ``argv``: run it patched (``patched_service.command(...)``)."""
        service = launch_service(
            "deployment",
            {
                **self.env("deployment"),
                "MILLRACE_DEPLOYMENT_REGISTRY_URL": self.services["registry"].url,
                "MILLRACE_DEPLOYMENT_REPLICA_ID": key,
                "MILLRACE_DEPLOYMENT_LOG_FLUSH_INTERVAL_SECONDS": "0.2",
                **(
                    {"MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY": self.keys.public}
                    if self.keys is not None
                    else {}
                ),
                **extra_env,
            },
            self.log_dir,
            argv=argv,
            ready_path="/health/live",
            label=key,
        )
        self.services[key] = service
        return service

    def __getitem__(self, name: str) -> Process:
        return self.services[name]

    def stop_all(self) -> None:
        for service in self.services.values():
            service.stop()

    def logs(self) -> str:
        return "\n\n".join(f"--- {n} ---\n{s.log_tail(40)}" for n, s in self.services.items())


def launch_platform(
    running: Platform, *, training_argv: tuple[str, ...] = (), **ingestion_env: str
) -> None:
    """Start the five services in ``running`` (its stack's env) and wait until all are ready.
    ``training_argv``: run training patched (``patched_service.command(...)``)."""
    running.start("ingestion", **ingestion_env)
    running.start("training", training_argv)
    for name in ("registry", "monitoring"):
        running.start(name)
    running.start_deployment("deployment")
    for service in running.services.values():
        service.wait_ready()


@pytest.fixture(scope="session")
def platform(
    service_env: ServiceEnv,
    service_logs: Path,
    e2e_settings: MillraceSettings,
    promotion_keys: KeyPair,
) -> Iterator[Platform]:
    asyncio.run(ensure_topics(e2e_settings))
    running = Platform(service_env, service_logs, promotion_keys)
    try:
        # Small size limits, so the e2e suite can show a too-large file, and one that would
        # decode past its limit, being refused without pushing the machine to its own limit.
        launch_platform(
            running,
            MILLRACE_INGESTION_MAX_BYTES="500000",
            MILLRACE_INGESTION_MAX_DECODED_BYTES=str(E2E_MAX_DECODED_BYTES),
        )
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def store(e2e_settings: MillraceSettings) -> MinioObjectStore:
    s = MinioObjectStore.from_settings(e2e_settings)
    s.ensure_buckets(e2e_settings.buckets)
    return s


@pytest.fixture(scope="session")
async def watcher(e2e_settings: MillraceSettings) -> AsyncIterator[EventWatcher]:
    async with EventWatcher(e2e_settings, [t.event for t in TOPICS]) as w:
        yield w


@pytest.fixture(scope="session")
async def producer(e2e_settings: MillraceSettings) -> AsyncIterator[KafkaEventSink]:
    broker: KafkaBroker
    broker, _ = make_broker(e2e_settings)
    await broker.start()
    yield KafkaEventSink(broker)
    await broker.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        funcargs = item.funcargs if hasattr(item, "funcargs") else {}
        running = funcargs.get("platform")
        if running is None and "cluster_flow" in funcargs:  # the services on the cluster
            running = funcargs["cluster_flow"][0].platform
        if isinstance(running, Platform):
            report.sections.append(("service logs", running.logs()))


@pytest.fixture
def flow(
    platform: Platform,
    watcher: EventWatcher,
    producer: KafkaEventSink,
    store: MinioObjectStore,
    e2e_settings: MillraceSettings,
    unique: str,
) -> Flow:
    return Flow(platform, watcher, producer, store, e2e_settings, dataset=unique)
