"""Topics and ACLs on a secured broker, created as the admin (ADR 0006: confluent-kafka's
AdminClient, since aiokafka's has no ACL API)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding as KafkaAclBinding,
)
from confluent_kafka.admin import (
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from millrace_contracts.topics import Replication, replication_for

from millrace_infra.errors import StackError
from millrace_infra.kafka_acls import ADMIN_USER, AclBinding, acl_bindings, topic_names
from millrace_infra.kafka_security import SASL_MECHANISM, SECURITY_PROTOCOL

TOPIC_PARTITIONS = 3
"""As many as the services' default (MillraceSettings.kafka_partitions)."""
_TIMEOUT = 30.0


def admin_client(bootstrap: str, cafile: Path, password: str) -> AdminClient:
    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "security.protocol": SECURITY_PROTOCOL,
            "sasl.mechanism": SASL_MECHANISM,
            "sasl.username": ADMIN_USER,
            "sasl.password": password,
            "ssl.ca.location": str(cafile),
            "client.id": "millrace-stack",
        }
    )


def _kafka_binding(binding: AclBinding) -> KafkaAclBinding:
    return KafkaAclBinding(
        ResourceType[binding.resource.value],
        binding.name,
        ResourcePatternType[binding.pattern.value],
        binding.principal,
        "*",
        AclOperation[binding.operation.value],
        AclPermissionType.ALLOW,
    )


def create_topics(
    admin: AdminClient, names: Sequence[str], replication: Replication | None = None
) -> list[str]:
    """Create the topics that are missing; return those created.

    Replicated as `replication` says; by default as replication_for the cluster's size (the
    brokers its metadata lists): 3 copies with min.insync.replicas 2 on a cluster of three,
    1/1 on a single broker. Existing topics are left as they are.
    """
    metadata = admin.list_topics(timeout=_TIMEOUT)
    existing = set(metadata.topics)
    missing = [n for n in names if n not in existing]
    if not missing:
        return []
    replication = replication or replication_for(max(1, len(metadata.brokers)))
    futures = admin.create_topics(
        [
            NewTopic(
                n,
                num_partitions=TOPIC_PARTITIONS,
                replication_factor=replication.factor,
                config=replication.topic_configs(),
            )
            for n in missing
        ],
        operation_timeout=_TIMEOUT,
        request_timeout=_TIMEOUT,
    )
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            # Another `up` racing this one created it first: the outcome is the same.
            if _code(exc) != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StackError(f"creating topic {name} failed: {exc}") from exc
    return missing


def create_acls(admin: AdminClient, bindings: Sequence[AclBinding]) -> None:
    """Create the bindings; existing ones are left as they are (creating one is idempotent)."""
    futures = admin.create_acls([_kafka_binding(b) for b in bindings], request_timeout=_TIMEOUT)
    for binding, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise StackError(f"creating ACL {binding} failed: {exc}") from exc


def _code(exc: KafkaException) -> Any:
    error = exc.args[0] if exc.args else None
    return error.code() if isinstance(error, KafkaError) else None


def provision(bootstrap: str, cafile: Path, admin_password: str) -> None:
    """Every catalogue topic with its dead-letter topic, and the ACLs the catalogue implies."""
    admin = admin_client(bootstrap, cafile, admin_password)
    create_topics(admin, topic_names())
    create_acls(admin, acl_bindings())
