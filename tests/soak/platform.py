"""The soak's own stack and services: started here, stopped here, whatever happens."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from millrace_infra.config import StackConfig
from millrace_infra.errors import StackError
from millrace_infra.launcher import Process, launch_service
from millrace_infra.ports import busy_ports, pick_free_base
from millrace_infra.stack import start, start_component, stop
from millrace_infra.state import StackInfo
from millrace_shared.messaging import ensure_topics
from millrace_shared.registry.tokens import hash_token, new_token
from millrace_shared.settings import MillraceSettings
from millrace_shared.signing import ensure_keypair

SERVICES = ("ingestion", "training", "registry", "monitoring", "deployment")

# Every port the soak listens on lies below Linux's ephemeral range (32768-60999): a server
# stopped for a while (S3 for 30 s, a killed service) gets its port back, which an outgoing
# connection could otherwise have been given meanwhile. pick_free_base keeps the stack's block
# out of that range by itself; these bases also keep it (SeaweedFS's admin gRPC port sits at
# its base + 10000) clear of the services' fixed ports, which are below the range too.
STACK_BASES = (20000, 22500)
SERVICE_PORTS = (23000, 30000)


def service_port() -> int:
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(*SERVICE_PORTS)
        if not busy_ports([port]):
            return port
    raise RuntimeError(f"no free port in {SERVICE_PORTS}")


def settings_as(info: StackInfo, principal: str, **overrides: str) -> MillraceSettings:
    """A client of the stack acting as ``principal`` (as tests/conftest.py's ``settings_as``)."""
    env = info.client_env(principal)
    fields = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
    return MillraceSettings.model_validate(fields | overrides)


class SoakPlatform:
    """A local stack in ``home`` and the five services as real processes, each its own
    Kafka/S3 principal, as the e2e suite runs them. A restarted service keeps its port, so
    the traffic generator and the deployment's registry URL stay valid across kills."""

    def __init__(self, home: Path, brokers: int) -> None:
        self.home = home
        options = {"home": home / "stack", "zipkin": False, "secure": True, "brokers": brokers}
        base = pick_free_base(
            lambda b: StackConfig.from_base_port(b, **options).all_ports(),
            low=STACK_BASES[0],
            high=STACK_BASES[1],
        )
        self.config = StackConfig.from_base_port(base, **options)
        self.logs = home / "logs"
        self.keys = ensure_keypair(home / "keys")
        self.token = new_token()
        self.services: dict[str, Process] = {}
        self.info: StackInfo | None = None

    def start_stack(self) -> StackInfo:
        self.info = start(self.config, timeout=90.0 * self.config.brokers)
        return self.info

    def admin_settings(self) -> MillraceSettings:
        assert self.info is not None
        return settings_as(self.info, "admin", service_name="soak")

    def _env(self, name: str) -> dict[str, str]:
        info = self.info
        assert info is not None
        env = {
            **info.env(),
            **info.kafka_env(name),
            **info.s3_env(name),
            "MILLRACE_REGISTRY_TOKENS": json.dumps({"soak-operator": hash_token(self.token)}),
            "MILLRACE_KAFKA_RETRY_BACKOFF_SECONDS": "0.2",
            # An outage is waited out; a short cap resumes the work soon after it ends.
            "MILLRACE_KAFKA_TRANSIENT_BACKOFF_MAX_SECONDS": "2",
            "MILLRACE_LOG_LEVEL": "INFO",
        }
        if name == "registry":
            env["MILLRACE_REGISTRY_SIGNING_KEY"] = self.keys.private
        if name == "deployment":
            env |= {
                "MILLRACE_DEPLOYMENT_REGISTRY_URL": self.services["registry"].url,
                "MILLRACE_DEPLOYMENT_REPLICA_ID": "deployment",
                "MILLRACE_DEPLOYMENT_LOG_FLUSH_INTERVAL_SECONDS": "0.2",
                "MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY": self.keys.public,
            }
        return env

    def launch(self, name: str) -> Process:
        """Start ``name`` (again, on its old port if it ran before)."""
        old = self.services.get(name)
        process = launch_service(
            name,
            self._env(name),
            self.logs,
            port=old.port if old is not None else service_port(),
            # The deployment is live at once, ready only once it serves a model.
            ready_path="/health/live" if name == "deployment" else "/health/ready",
        )
        self.services[name] = process
        return process

    async def start_services(self) -> None:
        await ensure_topics(self.admin_settings())
        for name in SERVICES:  # the registry before the deployment: it needs its URL
            self.launch(name)
        await asyncio.gather(*(self.wait_ready(n) for n in SERVICES))

    async def wait_ready(self, name: str, within: float = 180.0) -> None:
        await asyncio.to_thread(self.services[name].wait_ready, within=within)

    async def start_s3(self, within: float = 120.0) -> None:
        """Start S3 again; if its port is still held (a socket closing), try again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                await asyncio.to_thread(start_component, self.config, "s3")
                return
            except StackError:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(2)

    def stop_all(self) -> None:
        """Every service, then the stack; each step runs even if an earlier one fails."""
        try:
            for process in self.services.values():
                try:
                    process.stop(grace=10.0)
                except Exception:
                    process.kill()
        finally:
            stop(self.config)
