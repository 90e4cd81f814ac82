"""Where a stack's Kafka nodes keep their files (no heavy imports: the state module and
clients of a stack read this)."""

from __future__ import annotations

from pathlib import Path

from millrace_infra.config import StackConfig


def kafka_dir(config: StackConfig) -> Path:
    """Node 1's folder, which also holds the stack's Kafka credentials and TLS material."""
    return config.home / "kafka"


def node_dir(config: StackConfig, node_id: int = 1) -> Path:
    """Node 1 in ``kafka/`` (as a single-node stack always had it), node n in ``kafka-<n>/``."""
    return kafka_dir(config) if node_id == 1 else config.home / f"kafka-{node_id}"


def node_name(node_id: int) -> str:
    """The stack component of a node: ``kafka`` (node 1, as on a single-node stack),
    ``kafka-2``, ``kafka-3``..."""
    return "kafka" if node_id == 1 else f"kafka-{node_id}"


def tls_dir(config: StackConfig) -> Path:
    return kafka_dir(config) / "tls"
