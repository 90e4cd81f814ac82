"""Topics, ACLs and SCRAM users on a secured broker, made as the admin (ADR 0006:
confluent-kafka's AdminClient, since aiokafka's has no ACL or SCRAM API).

The local stack provisions itself at start (provision); the operator's `millrace admin kafka
provision` reads a cluster (read_plan), prints the plan and applies it (apply_plan).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding as KafkaAclBinding,
)
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from millrace_contracts.topics import Replication, replication_for

from millrace_infra.errors import StackError
from millrace_infra.kafka_acls import ADMIN_USER, AclBinding, acl_bindings, topic_names
from millrace_infra.kafka_plan import (
    GrantedAcl,
    ProvisionPlan,
    plan_provisioning,
    principal_users,
)
from millrace_infra.kafka_security import SASL_MECHANISM, SECURITY_PROTOCOL

TOPIC_PARTITIONS = 3
"""As many as the services' default (MillraceSettings.kafka_partitions)."""
_TIMEOUT = 30.0
SCRAM_ITERATIONS = 8192
"""Above Kafka's minimum for SCRAM-SHA-512 (4096)."""


def admin_client(
    bootstrap: str,
    cafile: Path | None,
    password: str,
    *,
    username: str = ADMIN_USER,
    security_protocol: str = SECURITY_PROTOCOL,
    sasl_mechanism: str = SASL_MECHANISM,
    client_id: str = "millrace-stack",
) -> AdminClient:
    """An admin client as `username` (the local stack's super user unless told otherwise);
    without `cafile`, the system's trusted CAs."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": bootstrap,
        "security.protocol": security_protocol,
        "client.id": client_id,
    }
    if security_protocol.upper().startswith("SASL"):
        config |= {
            "sasl.mechanism": sasl_mechanism,
            "sasl.username": username,
            "sasl.password": password,
        }
    if cafile is not None:
        config["ssl.ca.location"] = str(cafile)
    return AdminClient(config)


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
    admin: AdminClient,
    names: Sequence[str],
    replication: Replication | None = None,
    *,
    partitions: int = TOPIC_PARTITIONS,
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
                num_partitions=partitions,
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


def existing_topics(admin: AdminClient) -> set[str]:
    try:
        return set(admin.list_topics(timeout=_TIMEOUT).topics)
    except KafkaException as exc:
        raise StackError(f"listing topics failed: {exc}") from exc


def existing_acls(admin: AdminClient) -> list[GrantedAcl]:
    """Every ACL on the cluster (the admin may describe them all)."""
    # None matches any name, principal and host (the stubs say str).
    anything: Any = None
    match_all = AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        anything,
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        found = admin.describe_acls(match_all, request_timeout=_TIMEOUT).result()
    except KafkaException as exc:
        if _code(exc) == KafkaError.SECURITY_DISABLED:
            raise StackError("the cluster has no authorizer: it enforces no ACLs") from exc
        raise StackError(f"listing ACLs failed: {exc}") from exc
    return sorted(
        GrantedAcl(
            principal=b.principal,
            resource=b.restype.name,
            pattern=b.resource_pattern_type.name,
            name=b.name,
            operation=b.operation.name,
            permission=b.permission_type.name,
            host=b.host,
        )
        for b in found
    )


def delete_acls(admin: AdminClient, acls: Sequence[GrantedAcl]) -> None:
    """Delete exactly these bindings (each filter matches one binding, nothing wider)."""
    if not acls:
        return
    filters = [
        AclBindingFilter(
            ResourceType[a.resource],
            a.name,
            ResourcePatternType[a.pattern],
            a.principal,
            a.host,
            AclOperation[a.operation],
            AclPermissionType[a.permission],
        )
        for a in acls
    ]
    futures = admin.delete_acls(filters, request_timeout=_TIMEOUT)
    for acl_filter, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise StackError(f"deleting ACL {acl_filter} failed: {exc}") from exc


def scram_users(admin: AdminClient, users: Sequence[str]) -> set[str]:
    """Those of `users` the broker has a SCRAM-SHA-512 credential for."""
    if not users:
        return set()
    futures = admin.describe_user_scram_credentials(list(users), request_timeout=_TIMEOUT)
    assert isinstance(futures, dict)  # one future per user when users are named
    found: set[str] = set()
    for user, future in futures.items():
        try:
            description = future.result()
        except KafkaException as exc:
            if _code(exc) == KafkaError.RESOURCE_NOT_FOUND:
                continue  # no credential of any mechanism yet
            raise StackError(f"describing SCRAM user {user} failed: {exc}") from exc
        mechanisms = {info.mechanism for info in description.scram_credential_infos}
        if ScramMechanism.SCRAM_SHA_512 in mechanisms:
            found.add(user)
    return found


def upsert_scram_users(admin: AdminClient, passwords: Mapping[str, str]) -> None:
    """Create (or set the password of) each user, SCRAM-SHA-512, on the running cluster."""
    if not passwords:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(u, info, p.encode()) for u, p in passwords.items()],
        request_timeout=_TIMEOUT,
    )
    for user, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise StackError(f"setting the SCRAM credential of {user} failed: {exc}") from exc


def read_plan(admin: AdminClient, *, prune: bool = False, users: bool = False) -> ProvisionPlan:
    """What provisioning would change on the cluster, read with `admin`; nothing is changed."""
    present = scram_users(admin, principal_users()) if users else None
    return plan_provisioning(
        existing_topics(admin), existing_acls(admin), prune=prune, existing_users=present
    )


def settle(
    admin: AdminClient, *, prune: bool = False, users: bool = False, timeout: float = _TIMEOUT
) -> ProvisionPlan:
    """Read the plan until it is empty or `timeout` passes; return the last one read.

    Brokers apply new ACLs and topics to what they describe asynchronously (a broker that
    just started, or just got them, may list none for a few seconds), so a run that has
    just applied a plan waits for the cluster to show it before calling it done.
    """
    deadline = time.monotonic() + timeout
    while True:
        plan = read_plan(admin, prune=prune, users=users)
        if plan.empty or time.monotonic() >= deadline:
            return plan
        time.sleep(0.25)


def apply_plan(
    admin: AdminClient,
    plan: ProvisionPlan,
    passwords: Mapping[str, str] | None = None,
    *,
    partitions: int = TOPIC_PARTITIONS,
    replication: Replication | None = None,
) -> None:
    """Carry out `plan`: users first (with `passwords` for plan.create_users), then topics
    (replicated as `replication` says, else as the cluster's size implies), ACLs to add,
    ACLs to remove."""
    if plan.create_users:
        passwords = passwords or {}
        missing = [u for u in plan.create_users if u not in passwords]
        if missing:
            raise StackError(f"no password for the new SCRAM users {', '.join(missing)}")
        upsert_scram_users(admin, {u: passwords[u] for u in plan.create_users})
    if plan.create_topics:
        create_topics(admin, plan.create_topics, replication, partitions=partitions)
    if plan.add_acls:
        create_acls(admin, plan.add_acls)
    delete_acls(admin, plan.remove_acls)


def _code(exc: KafkaException) -> Any:
    error = exc.args[0] if exc.args else None
    return error.code() if isinstance(error, KafkaError) else None


def provision(bootstrap: str, cafile: Path, admin_password: str) -> None:
    """Every catalogue topic with its dead-letter topic, and the ACLs the catalogue implies."""
    admin = admin_client(bootstrap, cafile, admin_password)
    create_topics(admin, topic_names())
    create_acls(admin, acl_bindings())
    # The stack is "up" only once the broker enforces what was granted: a client started
    # right after (the CLI's first publish) was refused InitProducerId while the broker had not
    # yet applied the new ACLs.
    left = settle(admin)
    if not left.empty:
        raise StackError(f"the cluster did not show the provisioned topics and ACLs: {left}")
