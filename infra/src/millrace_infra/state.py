"""The endpoints of a stack, and the JSON state file that lets other processes find them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millrace_infra.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, StackConfig
from millrace_infra.errors import StackError
from millrace_infra.kafka_layout import node_dir, node_name

STATE_FILE = "stack.json"
S3_REGION = "us-east-1"
ZIPKIN_SPANS_PATH = "/api/v2/spans"
"""Where Zipkin takes spans (JSON v2): the exporters' endpoint is the base URL plus this."""
KAFKA_SECURITY_VARIABLES = (
    "MILLRACE_KAFKA_SECURITY_PROTOCOL",
    "MILLRACE_KAFKA_SASL_MECHANISM",
    "MILLRACE_KAFKA_SASL_USERNAME",
    "MILLRACE_KAFKA_SASL_PASSWORD",
    "MILLRACE_KAFKA_TLS_CAFILE",
)
"""The client settings that say how to authenticate to Kafka (besides where it is)."""


@dataclass(frozen=True)
class KafkaNode:
    """One Kafka node (broker + controller) of a local stack: where it listens and where its
    pid and log are, so a test can kill it and a later start finds it gone."""

    node_id: int
    bootstrap: str
    """`host:port` of its broker listener."""
    component: str
    """Its stack component name: ``kafka`` (node 1), ``kafka-<n>``."""
    pid_file: Path
    log: Path

    def pid(self) -> int | None:
        """Its recorded pid (a process that may have died since; see stack.status)."""
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None


@dataclass(frozen=True)
class StackInfo:
    """How clients reach a running stack."""

    kafka_bootstrap: str
    """`host:port` for Kafka clients (bootstrap servers); comma-separated, every broker, for a
    local cluster."""
    s3_endpoint: str
    """`host:port` of the S3 API, plain HTTP (the form the minio client takes)."""
    s3_access_key: str
    s3_secret_key: str = field(repr=False)
    home: Path | None = None
    """The stack's home folder; None for a stack found through environment variables."""
    otlp_endpoint: str | None = None
    """`http://host:port` of an OTLP/HTTP receiver (exporters append /v1/traces), for a stack
    found through the environment (production: Jaeger, Tempo, a vendor); the local stack
    runs Zipkin instead (zipkin_url)."""
    zipkin_url: str | None = None
    """Base URL of the local stack's Zipkin: spans in at `/api/v2/spans`, query API at
    `/api/v2/...`, UI at `/zipkin/`; None without Zipkin."""
    jaeger_url: str | None = None
    """Base URL of a Jaeger query API given through the environment (MILLRACE_JAEGER_URL)."""
    secure: bool = False
    """Kafka needs SASL_SSL credentials: one principal each (kafka_env)."""
    kafka_settings: dict[str, str] = field(default_factory=dict, repr=False, hash=False)
    """For a stack found through the environment: the MILLRACE_KAFKA_* security settings
    given there (one principal's, whichever it is)."""
    kafka_nodes: tuple[KafkaNode, ...] = ()
    """The local stack's Kafka nodes (one, or a cluster's); empty for a stack found through
    the environment."""

    @classmethod
    def for_config(cls, config: StackConfig) -> StackInfo:
        nodes = tuple(
            KafkaNode(
                node_id=n,
                bootstrap=f"127.0.0.1:{config.node_ports(n)[0]}",
                component=node_name(n),
                pid_file=node_dir(config, n) / "kafka.pid",
                log=node_dir(config, n) / "logs" / "server.log",
            )
            for n in config.node_ids()
        )
        return cls(
            kafka_bootstrap=",".join(node.bootstrap for node in nodes),
            kafka_nodes=nodes,
            s3_endpoint=f"127.0.0.1:{config.s3_port}",
            s3_access_key=config.s3_access_key,
            s3_secret_key=config.s3_secret_key,
            home=config.home,
            zipkin_url=f"http://127.0.0.1:{config.zipkin_port}" if config.zipkin else None,
            secure=config.secure,
        )

    def kafka_env(self, principal: str) -> dict[str, str]:
        """MILLRACE_KAFKA_* settings for a client acting as `principal` (``registry``,
        ``data-teams``, ``operators``..., or ``admin`` for the project's own test harness).

        The bootstrap alone on a plaintext stack; on a stack found through the environment,
        the settings given there, whoever they name (its passwords are not ours to read).
        """
        env = {"MILLRACE_KAFKA_BOOTSTRAP": self.kafka_bootstrap}
        if self.kafka_settings:
            return env | self.kafka_settings
        if not self.secure:
            return env
        if self.home is None:
            raise StackError("the stack's Kafka is secured, but its home (credentials) is unknown")
        # Imported here: the TLS module loads `cryptography`, which only secured clients need.
        from millrace_infra.kafka import kafka_dir, tls_dir
        from millrace_infra.kafka_security import client_env
        from millrace_infra.tls import TlsFiles

        config = StackConfig(home=self.home)
        return env | client_env(kafka_dir(config), TlsFiles(tls_dir(config)).ca_cert, principal)

    def s3_env(self, principal: str) -> dict[str, str]:
        """MILLRACE_S3_ACCESS_KEY / _SECRET_KEY for `principal` on the secured local stack (its
        own identity, allowed only its buckets; ``admin``: the stack's root key); elsewhere the
        keys env() gives."""
        if not self.secure or self.home is None:
            return {
                "MILLRACE_S3_ACCESS_KEY": self.s3_access_key,
                "MILLRACE_S3_SECRET_KEY": self.s3_secret_key,
            }
        from millrace_infra.s3_security import s3_client_env

        return s3_client_env(StackConfig(home=self.home, s3_access_key=self.s3_access_key,
                                         s3_secret_key=self.s3_secret_key), principal)  # fmt: skip

    def client_env(self, principal: str) -> dict[str, str]:
        """env() plus kafka_env(principal) and s3_env(principal): everything a process acting
        as `principal` reads."""
        return self.env() | self.kafka_env(principal) | self.s3_env(principal)

    def env(self) -> dict[str, str]:
        """The MILLRACE_* variables services and tests read to find this stack (Kafka's
        credentials are per principal: kafka_env)."""
        env = {
            # The local stack's (home set) credentials are dev ones: services and clients must
            # be told, as they default to prod. A stack from the environment keeps its own.
            **({"MILLRACE_ENVIRONMENT": "dev"} if self.home is not None else {}),
            "MILLRACE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "MILLRACE_S3_ENDPOINT": self.s3_endpoint,
            "MILLRACE_S3_ACCESS_KEY": self.s3_access_key,
            "MILLRACE_S3_SECRET_KEY": self.s3_secret_key,
        }
        if self.home is not None:
            # SeaweedFS's region: a client that knows it needs no GetBucketLocation (a Read),
            # which an identity allowed only to write (data teams on landing) may not make.
            env["MILLRACE_S3_REGION"] = S3_REGION
        if self.otlp_endpoint:
            env["MILLRACE_OTLP_ENDPOINT"] = self.otlp_endpoint
        if self.zipkin_url:
            env["MILLRACE_ZIPKIN_ENDPOINT"] = f"{self.zipkin_url}{ZIPKIN_SPANS_PATH}"
            env["MILLRACE_ZIPKIN_URL"] = self.zipkin_url
        if self.jaeger_url:
            env["MILLRACE_JAEGER_URL"] = self.jaeger_url
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackInfo | None:
        """The stack named by MILLRACE_KAFKA_BOOTSTRAP + MILLRACE_S3_ENDPOINT, if both set
        (tracing from MILLRACE_OTLP_ENDPOINT / MILLRACE_ZIPKIN_URL / MILLRACE_JAEGER_URL, Kafka's
        security from MILLRACE_KAFKA_SECURITY_PROTOCOL / _SASL_* / _TLS_CAFILE, if set)."""
        env = os.environ if env is None else env
        bootstrap, endpoint = env.get("MILLRACE_KAFKA_BOOTSTRAP"), env.get("MILLRACE_S3_ENDPOINT")
        if not bootstrap or not endpoint:
            return None
        security = {k: v for k in KAFKA_SECURITY_VARIABLES if (v := env.get(k))}
        protocol = security.get("MILLRACE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        return cls(
            kafka_bootstrap=bootstrap,
            s3_endpoint=endpoint,
            s3_access_key=env.get("MILLRACE_S3_ACCESS_KEY", DEV_ACCESS_KEY),
            s3_secret_key=env.get("MILLRACE_S3_SECRET_KEY", DEV_SECRET_KEY),
            otlp_endpoint=env.get("MILLRACE_OTLP_ENDPOINT") or None,
            zipkin_url=env.get("MILLRACE_ZIPKIN_URL") or None,
            jaeger_url=env.get("MILLRACE_JAEGER_URL") or None,
            secure=protocol.upper() != "PLAINTEXT",
            kafka_settings=security,
        )


def _node_payload(node: KafkaNode) -> dict[str, Any]:
    return {
        "node_id": node.node_id,
        "bootstrap": node.bootstrap,
        "component": node.component,
        "pid_file": str(node.pid_file),
        "log": str(node.log),
    }


def write_state(config: StackConfig, pids: Mapping[str, int]) -> Path:
    info = StackInfo.for_config(config)
    payload: dict[str, Any] = {
        "kafka_bootstrap": info.kafka_bootstrap,
        "s3_endpoint": info.s3_endpoint,
        "s3_access_key": info.s3_access_key,
        "s3_secret_key": info.s3_secret_key,
        "otlp_endpoint": info.otlp_endpoint,
        "zipkin_url": info.zipkin_url,
        "env": info.env(),
        "home": str(config.home),
        "cache": str(config.cache),
        "ports": config.ports_dict(),
        "zipkin": config.zipkin,
        "secure": config.secure,
        "brokers": config.brokers,
        "kafka_nodes": [_node_payload(n) for n in info.kafka_nodes],
        "pids": dict(pids),
    }
    path = config.home / STATE_FILE
    tmp = path.with_suffix(".tmp")
    # Written whole then renamed so a reader never sees half a file; 0600 as it holds a key.
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_state(home: Path) -> StackConfig | None:
    """The config a stack in `home` was started with, or None if there is no state file."""
    try:
        payload = json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    ports = {k: int(v) for k, v in payload["ports"].items()}
    # Written before the stack had Zipkin: its port follows Kafka's as in from_base_port.
    derived = StackConfig.from_base_port(ports["kafka_port"])
    ports.pop("jaeger_port_base", None)  # a stack of the Jaeger days: nothing runs there now
    ports.setdefault("zipkin_port", derived.zipkin_port)
    # Written before local clusters: a single node, whose further ports were never used.
    ports.setdefault("cluster_port_base", derived.cluster_port_base)
    return StackConfig(
        home=home,
        cache=Path(payload["cache"]),
        s3_access_key=payload["s3_access_key"],
        s3_secret_key=payload["s3_secret_key"],
        zipkin=bool(payload.get("zipkin", False)),
        # Written before stacks were secured by default: those were plaintext.
        secure=bool(payload.get("secure", False)),
        brokers=int(payload.get("brokers", 1)),
        **ports,
    )


def remove_state(home: Path) -> None:
    (home / STATE_FILE).unlink(missing_ok=True)
