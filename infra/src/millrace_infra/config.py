"""Which home folder and which ports a local stack uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from millrace_infra.paths import default_cache, default_home
from millrace_infra.ports import pick_free_base

KAFKA_VERSION = "4.1.1"
ZIPKIN_VERSION = "3.5.1"
"""Zipkin's executable server jar (io.zipkin:zipkin-server:<version>:exec) from Maven Central."""
DEFAULT_BASE_PORT = 19092  # Kafka on 19092 and its controller on 19093, as in DESIGN.md
DEV_ACCESS_KEY = "millrace"
DEV_SECRET_KEY = "millrace-dev-secret"  # local dev only: the stack binds to 127.0.0.1

# Kafka broker, Kafka controller and S3 take base+0..2; SeaweedFS's internal servers the
# 8 slots after, Zipkin the first of the 4 after those (the other 3 are spare: Jaeger's
# once); a cluster's further Kafka nodes two each after that (broker, controller). Two stacks coexist when their bases are at least PORT_SPAN apart.
MAX_BROKERS = 5
PORT_SPAN = 15 + 2 * (MAX_BROKERS - 1)
_CLUSTER_OFFSET = 15
_WEED_SLOTS = 8
_ZIPKIN_OFFSET = 11
# SeaweedFS's maintenance worker ignores -admin.port.grpc and dials admin port + 10000, so
# the admin gRPC port has to sit exactly there or the worker logs reconnect errors forever.
WEED_GRPC_OFFSET = 10000


@dataclass(frozen=True)
class WeedPorts:
    """Every listener `weed mini` opens; all set explicitly because it moves busy ones."""

    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    s3_grpc: int
    admin: int

    @property
    def admin_grpc(self) -> int:
        return self.admin + WEED_GRPC_OFFSET

    def all(self) -> tuple[int, ...]:
        return (*range(self.master, self.master + _WEED_SLOTS), self.admin_grpc)


@dataclass(frozen=True)
class StackConfig:
    """Everything needed to start, find or stop one local stack."""

    home: Path = field(default_factory=default_home)
    """Data, logs, pid files and the state file; one stack per home."""
    cache: Path = field(default_factory=default_cache)
    """Downloaded Kafka and Zipkin jars, shared between homes."""
    kafka_port: int = DEFAULT_BASE_PORT
    controller_port: int = DEFAULT_BASE_PORT + 1
    s3_port: int = DEFAULT_BASE_PORT + 2
    weed_port_base: int = DEFAULT_BASE_PORT + 3
    """First of the consecutive ports for SeaweedFS's master, volume, filer and admin."""
    zipkin_port: int = DEFAULT_BASE_PORT + _ZIPKIN_OFFSET
    """Zipkin's one HTTP port: span intake (/api/v2/spans), query API and UI (/zipkin/)."""
    cluster_port_base: int = DEFAULT_BASE_PORT + _CLUSTER_OFFSET
    """With brokers > 1: node n >= 2 listens on cluster_port_base + 2*(n-2) (broker) and the
    port after it (controller); node 1 keeps kafka_port / controller_port."""
    brokers: int = 1
    """Kafka nodes, each broker and controller in one JVM (KRaft combined mode): 1, or a
    local cluster of up to MAX_BROKERS (3 tolerates one node down with min.insync 2)."""
    zipkin: bool = True
    """Whether the stack runs Zipkin (spans in, query API and UI out) next to Kafka and S3."""
    secure: bool = True
    """Kafka with SASL_SSL (SCRAM-SHA-512 over TLS from a local CA) and ACLs derived from
    the topic catalogue; False (--insecure) only for debugging: PLAINTEXT, open to all."""
    s3_access_key: str = DEV_ACCESS_KEY
    s3_secret_key: str = field(default=DEV_SECRET_KEY, repr=False)

    @classmethod
    def from_base_port(cls, base: int, **overrides: Any) -> StackConfig:
        """All ports derived from one base: base+0 Kafka, +1 controller, +2 S3, +3..+10 weed,
        +11 Zipkin (+12..+14 spare), +15.. a cluster's
        further Kafka nodes (broker, controller each)."""
        derived = cls(
            kafka_port=base,
            controller_port=base + 1,
            s3_port=base + 2,
            weed_port_base=base + 3,
            zipkin_port=base + _ZIPKIN_OFFSET,
            cluster_port_base=base + _CLUSTER_OFFSET,
        )
        return replace(derived, **overrides)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackConfig:
        """Read MILLRACE_HOME, MILLRACE_CACHE and MILLRACE_STACK_* (BASE_PORT, KAFKA_PORT,
        CONTROLLER_PORT, S3_PORT, WEED_PORT_BASE, ZIPKIN_PORT, S3_ACCESS_KEY,
        S3_SECRET_KEY, NO_ZIPKIN=1 for a stack without Zipkin, INSECURE=1 for a plaintext Kafka
        without authentication or ACLs, BROKERS=3 for a local Kafka cluster)."""
        env = os.environ if env is None else env
        base = int(env.get("MILLRACE_STACK_BASE_PORT", DEFAULT_BASE_PORT))
        overrides: dict[str, Any] = {
            "home": default_home(env),
            "cache": default_cache(env),
            "zipkin": not env_flag(env.get("MILLRACE_STACK_NO_ZIPKIN")),
            "secure": not env_flag(env.get("MILLRACE_STACK_INSECURE")),
            "brokers": int(env.get("MILLRACE_STACK_BROKERS") or 1),
        }
        for name in (
            "kafka_port",
            "controller_port",
            "s3_port",
            "weed_port_base",
            "zipkin_port",
            "cluster_port_base",
        ):
            if value := env.get(f"MILLRACE_STACK_{name.upper()}"):
                overrides[name] = int(value)
        for name in ("s3_access_key", "s3_secret_key"):
            if value := env.get(f"MILLRACE_STACK_{name.upper()}"):
                overrides[name] = value
        return cls.from_base_port(base, **overrides)

    @classmethod
    def with_free_ports(cls, home: Path, **overrides: Any) -> StackConfig:
        """A config on a currently free port block, for test sessions and parallel stacks."""
        brokers = overrides.get("brokers", 1)
        base = pick_free_base(
            lambda b: cls.from_base_port(b, home=home, brokers=brokers).all_ports()
        )
        return cls.from_base_port(base, home=home, **overrides)

    @property
    def weed_ports(self) -> WeedPorts:
        b = self.weed_port_base
        return WeedPorts(b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7)

    def node_ids(self) -> range:
        """The Kafka nodes' ids, 1..brokers."""
        return range(1, self.brokers + 1)

    def node_ports(self, node_id: int) -> tuple[int, int]:
        """(broker, controller) port of Kafka node node_id."""
        if node_id == 1:
            return self.kafka_port, self.controller_port
        broker = self.cluster_port_base + 2 * (node_id - 2)
        return broker, broker + 1

    def kafka_ports(self) -> tuple[int, ...]:
        return tuple(p for n in self.node_ids() for p in self.node_ports(n))

    def s3_ports(self) -> tuple[int, ...]:
        return (self.s3_port, *self.weed_ports.all())

    def all_ports(self) -> tuple[int, ...]:
        """Every port the stack opens; Zipkin's too, even when it is off, so that the same
        config can later be brought up with Zipkin without a port clash."""
        return (*self.kafka_ports(), *self.s3_ports(), self.zipkin_port)

    def ports_dict(self) -> dict[str, int]:
        return {
            "kafka_port": self.kafka_port,
            "controller_port": self.controller_port,
            "s3_port": self.s3_port,
            "weed_port_base": self.weed_port_base,
            "zipkin_port": self.zipkin_port,
            "cluster_port_base": self.cluster_port_base,
        }

    def validate(self) -> None:
        if not 1 <= self.brokers <= MAX_BROKERS:
            raise ValueError(f"brokers must lie in 1-{MAX_BROKERS}: {self.brokers}")
        ports = self.all_ports()
        if len(set(ports)) != len(ports):
            raise ValueError(f"stack ports overlap: {sorted(ports)}")
        if not all(1024 <= p <= 65535 for p in ports):
            raise ValueError(f"stack ports must lie in 1024-65535: {sorted(ports)}")


def env_flag(value: str | None) -> bool:
    """True for "1", "true", "yes", "on" (any case); False for unset, empty, "0", "false"..."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}
