"""``up`` and ``down``: the local stack, then the services as background processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from millrace_infra import StackConfig, StackError, StackInfo, fetch_kafka, is_fetched, start
from millrace_infra import status as stack_status
from millrace_infra import stop as stop_stack
from millrace_infra.kafka_security import read_credentials_file
from millrace_infra.ports import port_is_free
from millrace_infra.state import KAFKA_SECURITY_VARIABLES
from millrace_infra.zipkin import fetch_zipkin
from millrace_infra.zipkin import is_fetched as zipkin_fetched
from millrace_shared.registry.tokens import ensure_local_token
from millrace_shared.signing import KeyPair, ensure_keypair

from . import services_runtime as runtime
from .catalog import BY_NAME, NAMES, ServiceSpec
from .console import err
from .endpoints import Endpoints, resolve, stack_config
from .errors import CliError, ExitCode
from .kafka import UNREACHABLE_ERRORS
from .services_runtime import ServiceRecord, ServicesFile

Report = Callable[[str], None]


@dataclass
class UpResult:
    stack: StackInfo
    started: dict[str, ServiceRecord] = field(default_factory=dict)
    already: dict[str, ServiceRecord] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, CliError] = field(default_factory=dict)

    @property
    def running(self) -> dict[str, ServiceRecord]:
        return {**self.already, **self.started}


def bring_up_stack(config: StackConfig, report: Report, *, timeout: float) -> StackInfo:
    """The stack named by the environment, else the local one (started if not running)."""
    external = StackInfo.from_env()
    if external is not None:
        report(
            f"stack: using Kafka {external.kafka_bootstrap} and S3 {external.s3_endpoint} "
            "from MILLRACE_KAFKA_BOOTSTRAP / MILLRACE_S3_ENDPOINT"
        )
        return external
    health = stack_status(config)
    if health and all(c.healthy for c in health.values()):
        report(f"stack: already running ({', '.join(health)})")
        return StackInfo.for_config(config)
    try:
        if not is_fetched(config.cache):
            with err.status("fetching Kafka's jars from Maven Central (first run only)..."):
                fetch_kafka(config.cache)
        if config.zipkin and not zipkin_fetched(config.cache):
            with err.status("fetching Zipkin's jar from Maven Central (first run only)..."):
                fetch_zipkin(config.cache)
        with err.status("starting the local stack..."):
            info = start(config, timeout=timeout)
    except StackError as error:
        raise CliError(f"the local stack did not start: {error}") from error
    report(f"stack: started ({', '.join(stack_status(config))})")
    return info


SIGNING_KEY_ENV = "MILLRACE_REGISTRY_SIGNING_KEY"
PUBLIC_KEY_ENV = "MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY"
CREDENTIALS_FILE_ENV = "MILLRACE_KAFKA_CREDENTIALS_FILE"
"""A JSON file of SCRAM user to password (the stack's credentials.json, or what
`millrace admin kafka provision --users FILE` wrote): on an existing cluster, `up` starts
each service as ``millrace-<service>`` with its password from there."""
_PER_SERVICE = {
    "KAFKA_SASL_USERNAME": "MILLRACE_KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD": "MILLRACE_KAFKA_SASL_PASSWORD",
    "S3_ACCESS_KEY": "MILLRACE_S3_ACCESS_KEY",
    "S3_SECRET_KEY": "MILLRACE_S3_SECRET_KEY",
}
"""MILLRACE_<SERVICE>_<suffix>: that service's own value of the shared setting."""


def own_credentials(environ: Mapping[str, str], name: str) -> dict[str, str]:
    """On an existing cluster, the credentials of service `name` itself: from
    MILLRACE_<NAME>_KAFKA_SASL_USERNAME / _PASSWORD and _S3_ACCESS_KEY / _SECRET_KEY, else its
    user's password in MILLRACE_KAFKA_CREDENTIALS_FILE; empty when neither says (then every
    service gets the one set of MILLRACE_KAFKA_* / MILLRACE_S3_* credentials)."""
    found: dict[str, str] = {}
    if path := environ.get(CREDENTIALS_FILE_ENV):
        user = f"millrace-{name}"
        try:
            password = read_credentials_file(Path(path)).get(user)
        except (OSError, ValueError, StackError) as error:
            raise CliError(f"cannot read {CREDENTIALS_FILE_ENV}={path}: {error}") from error
        if password is None:
            raise CliError(f"{path} ({CREDENTIALS_FILE_ENV}) has no password for {user}")
        found |= {"MILLRACE_KAFKA_SASL_USERNAME": user, "MILLRACE_KAFKA_SASL_PASSWORD": password}
    for suffix, shared in _PER_SERVICE.items():
        if value := environ.get(f"MILLRACE_{name.upper()}_{suffix}"):
            found[shared] = value
    return found


def _without_per_service_credentials(env: dict[str, str]) -> dict[str, str]:
    """No service sees another's credentials (nor the file holding them all)."""
    names = {f"MILLRACE_{n.upper()}_{suffix}" for n in NAMES for suffix in _PER_SERVICE}
    return {k: v for k, v in env.items() if k not in names and k != CREDENTIALS_FILE_ENV}


CONSOLE_READS = ("registry", "ingestion", "training", "monitoring")
"""The services whose REST APIs the console reads (deployment's replicas: a list)."""


def console_env(stack: StackInfo, urls: Mapping[str, str]) -> dict[str, str]:
    """The console's environment: the services' URLs and the trace UI's, Kafka as
    ``millrace-console`` (dead letters), and no S3 credential (it uses none)."""
    bus = ("MILLRACE_KAFKA_", "MILLRACE_S3_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(bus)}
    env = _without_per_service_credentials(env)
    env.pop(SIGNING_KEY_ENV, None)
    env |= {k: v for k, v in stack.env().items() if not k.startswith("MILLRACE_S3_")}
    if stack.home is not None:
        # A stack made before the console had a principal: no dead-letter pages, the rest works.
        with contextlib.suppress(StackError):
            env |= stack.kafka_env("console")
    else:
        env |= {k: v for k, v in own_credentials(os.environ, "console").items() if "S3" not in k}
    for name in CONSOLE_READS:
        env.setdefault(f"MILLRACE_CONSOLE_{name.upper()}_URL", urls[name])
    env.setdefault("MILLRACE_CONSOLE_DEPLOYMENT_URLS", json.dumps([urls["deployment"]]))
    return env


def service_env(
    stack: StackInfo, name: str, registry_url: str, home: Path, keys: KeyPair | None = None
) -> dict[str, str]:
    """The service's environment: the stack, Kafka as the service's own principal, and
    ``keys``, the home's promotion-signing pair (ADR 0007): the private key to the registry
    only, the public key to deployment; keys set in the environment win."""
    env = dict(os.environ)
    if stack.home is not None:
        # The local stack: a shell's MILLRACE_KAFKA_* (say, a data team's) must not leak in.
        for key in KAFKA_SECURITY_VARIABLES:
            env.pop(key, None)
    env |= stack.client_env(name)
    if stack.home is None:
        env |= own_credentials(os.environ, name)
    env = _without_per_service_credentials(env)
    if name != "registry":
        env.pop(SIGNING_KEY_ENV, None)  # never in any other service's environment
    if name == "deployment":
        env["MILLRACE_DEPLOYMENT_REGISTRY_URL"] = registry_url
    if keys is not None and name == "registry":
        env.setdefault(SIGNING_KEY_ENV, keys.private)
    if keys is not None and name == "deployment":
        env.setdefault(PUBLIC_KEY_ENV, keys.public)
    if name == "registry" and not _tokens_configured(env):
        # The person running `up` gets a token of their own, made once per stack home; the
        # CLI finds it there, so promote/rollback work with no step and the audit names them.
        local = ensure_local_token(home)
        env["MILLRACE_REGISTRY_TOKENS"] = json.dumps(local.hashes)
    return env


def _tokens_configured(env: Mapping[str, str]) -> bool:
    return bool(env.get("MILLRACE_REGISTRY_TOKENS") or env.get("MILLRACE_REGISTRY_TOKENS_FILE"))


async def bring_up(
    names: Sequence[str],
    ports: Mapping[str, int],
    report: Report,
    *,
    within: float = 120.0,
    config: StackConfig | None = None,
) -> UpResult:
    """Start the stack and the named services that are installed and not running yet.

    Idempotent: what runs already is left alone. Services of wave 1 (ingestion, training,
    registry) are ready before wave 2 (deployment, monitoring) starts. A service that does
    not get ready is stopped again and listed in ``failed``.
    """
    config = config or stack_config()
    stack = bring_up_stack(config, report, timeout=within)
    result = UpResult(stack=stack)
    endpoints = resolve()
    settings = endpoints.settings.model_copy(
        update={"kafka_bootstrap": stack.kafka_bootstrap, "s3_endpoint": stack.s3_endpoint}
    )
    # A secured local stack made its topics (and ACLs) at start-up; elsewhere (an external
    # cluster, or --insecure) they are made here, as far as the settings' rights go.
    if not (stack.secure and stack.home is not None):
        from millrace_shared.messaging import ensure_topics  # FastStream: slow to import

        try:
            await ensure_topics(settings)
        except UNREACHABLE_ERRORS as error:
            raise endpoints.unreachable("kafka") from error

    services = ServicesFile(config.home)
    # One pair per home: every registry and deployment started for it agree on the key.
    keys = ensure_keypair(config.home)
    with services.locked():
        records = services.read()
        registry_url = _registry_url(endpoints, records, ports)
        for wave in (1, 2):
            launched: dict[str, ServiceRecord] = {}
            for name in (n for n in names if BY_NAME[n].wave == wave):
                current = records.pop(name, None)
                if current is not None and current.running():
                    records[name] = result.already[name] = current
                    report(f"{name:<11} already running at {current.url} (pid {current.pid})")
                    continue
                why = _cannot_launch(BY_NAME[name], ports[name])
                if why is not None:
                    result.skipped[name] = why
                    report(f"{name:<11} [yellow]skipped[/]: {why}")
                    continue
                if name == "console":
                    env = console_env(stack, _service_urls(records, ports))
                else:
                    env = service_env(stack, name, registry_url, config.home, keys)
                record = runtime.launch(BY_NAME[name], ports[name], env, services.log_dir)
                launched[name] = records[name] = record
            services.write(records)
            await _wait_wave(launched, result, records, report, within)
            services.write(records)
    return result


def _registry_url(
    endpoints: Endpoints, records: Mapping[str, ServiceRecord], ports: Mapping[str, int]
) -> str:
    """Where deployment finds the registry: MILLRACE_REGISTRY_URL, the running one, or its port."""
    if endpoints.origins.get("registry") == "env":
        return endpoints.url("registry")
    record = records.get("registry")
    if record is not None and record.running():
        return record.url
    return f"http://127.0.0.1:{ports['registry']}"


def _service_urls(records: Mapping[str, ServiceRecord], ports: Mapping[str, int]) -> dict[str, str]:
    """Each service's URL: the running one's, else where ``up`` starts it."""
    urls = {n: f"http://127.0.0.1:{port}" for n, port in ports.items()}
    urls |= {n: r.url for n, r in records.items() if r.running()}
    return urls


def _cannot_launch(spec: ServiceSpec, port: int) -> str | None:
    if not spec.installed():
        return f"package {spec.module} is not installed"
    if not port_is_free(port):
        return f"port {port} is in use by another process (choose one with --port {spec.name}=PORT)"
    return None


async def _wait_wave(
    launched: Mapping[str, ServiceRecord],
    result: UpResult,
    records: dict[str, ServiceRecord],
    report: Report,
    within: float,
) -> None:
    async def one(name: str, record: ServiceRecord) -> None:
        spec = BY_NAME[name]
        try:
            took = await runtime.wait_ready(record, spec.ready_path, within)
        except CliError as error:
            runtime.stop({name: record})
            records.pop(name, None)
            result.failed[name] = error
            report(f"{name:<11} [red]failed[/]: {error.message}")
            return
        result.started[name] = record
        report(f"{name:<11} [green]ready[/] at {record.url} in {took:.1f}s (pid {record.pid})")

    await asyncio.gather(*(one(n, r) for n, r in launched.items()))


@dataclass(frozen=True)
class DownResult:
    services: list[str]
    stack: list[str] | None
    """Stack components stopped; None when the stack was kept."""


def stop_services(
    home: Path, names: Collection[str] | None = None, *, timeout: float = 20.0
) -> list[str]:
    """Stop the named services (all if None) that ``up`` recorded; forget them."""
    services = ServicesFile(home)
    with services.locked():
        records = services.read()
        chosen = {n: r for n, r in records.items() if names is None or n in names}
        stopped = runtime.stop(chosen, timeout=timeout)
        services.write({n: r for n, r in records.items() if n not in chosen})
    return stopped


def bring_down(endpoints: Endpoints, *, keep_stack: bool, timeout: float = 20.0) -> DownResult:
    stopped = stop_services(endpoints.home, timeout=timeout)
    if keep_stack:
        return DownResult(stopped, None)
    try:
        return DownResult(stopped, stop_stack(endpoints.stack, timeout=30.0))
    except StackError as error:
        raise CliError(f"the local stack did not stop: {error}", ExitCode.FAILURE) from error
