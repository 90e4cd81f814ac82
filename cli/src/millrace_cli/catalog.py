"""The seven services ``millrace up`` knows: module, default port and readiness path."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    default_port: int
    ready_path: str = "/health/ready"
    """What ``up`` waits on. Deployment is only ready once a model is loaded, so it is live."""
    wave: int = 1
    """Services of wave 2 start once wave 1 is ready (deployment reads from the registry)."""

    @property
    def module(self) -> str:
        return f"millrace_{self.name}"

    def installed(self) -> bool:
        """Whether ``python -m millrace_<name>`` can run in this environment."""
        try:
            return importlib.util.find_spec(f"{self.module}.__main__") is not None
        except ImportError:
            return False


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ingestion", 8101),
    ServiceSpec("training", 8102),
    ServiceSpec("registry", 8103),
    ServiceSpec("deployment", 8104, ready_path="/health/live", wave=2),
    ServiceSpec("monitoring", 8105, wave=2),
    # Wave 2: it announces files, which ingestion (wave 1) must be there to take.
    ServiceSpec("watcher", 8106, wave=2),
    # Wave 2: it reads every other service (and renders their absence, so it waits on none).
    ServiceSpec("console", 8107, wave=2),
)
BY_NAME: dict[str, ServiceSpec] = {s.name: s for s in SERVICES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
DEFAULT_BASE_PORT = 8101


def default_ports(base: int = DEFAULT_BASE_PORT) -> dict[str, int]:
    """ingestion base, training base+1, registry +2, deployment +3, monitoring +4, watcher +5,
    console +6."""
    return {spec.name: base + i for i, spec in enumerate(SERVICES)}
