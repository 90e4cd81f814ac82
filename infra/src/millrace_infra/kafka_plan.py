"""What provisioning a cluster from the topic catalogue would change: pure, so the operator's
command can print it (``--dry-run``) and apply exactly what it printed.

Pruning is scoped so it can never touch what Millrace does not own: only ALLOW bindings of a
``User:millrace-*`` principal (never the admin) on a ``millrace.`` topic or a ``millrace-``
consumer group. Anything else on the cluster (other principals, other topics, DENY rules an
operator added on purpose) is left alone, even when it mentions Millrace.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from millrace_contracts.topics import ALL_TOPICS, PRINCIPALS, AnyTopic, Party

from millrace_infra.kafka_acls import (
    ADMIN_USER,
    GROUP_PREFIX,
    AclBinding,
    Resource,
    acl_bindings,
    topic_names,
)

PRINCIPAL_PREFIX = "User:millrace-"
TOPIC_PREFIX = "millrace."
"""Every catalogue topic's name starts so (``millrace.<event>.v<n>``)."""
ALLOW = "ALLOW"
ANY_HOST = "*"


@dataclass(frozen=True, order=True)
class GrantedAcl:
    """An ACL as a broker lists it; plain strings, since a cluster may hold bindings (ALL,
    DENY, a host) that the catalogue never makes."""

    principal: str
    resource: str
    pattern: str
    name: str
    operation: str
    permission: str = ALLOW
    host: str = ANY_HOST

    @classmethod
    def of(cls, binding: AclBinding) -> GrantedAcl:
        return cls(
            binding.principal,
            binding.resource.value,
            binding.pattern.value,
            binding.name,
            binding.operation.value,
        )

    def __str__(self) -> str:
        host = "" if self.host == ANY_HOST else f" from {self.host}"
        return (
            f"{self.permission} {self.principal} {self.operation} {self.resource.lower()} "
            f"{self.name}{'*' if self.pattern == 'PREFIXED' else ''}{host}"
        )


def is_millrace_owned(acl: GrantedAcl) -> bool:
    """Whether `--prune` may remove `acl` when the catalogue does not imply it."""
    if acl.permission != ALLOW or not acl.principal.startswith(PRINCIPAL_PREFIX):
        return False
    if acl.principal == f"User:{ADMIN_USER}":
        return False
    if acl.resource == Resource.TOPIC.value:
        return acl.name.startswith(TOPIC_PREFIX)
    if acl.resource == Resource.GROUP.value:
        return acl.name.startswith(GROUP_PREFIX)
    return False


@dataclass(frozen=True)
class ProvisionPlan:
    """The changes that bring a cluster to what the catalogue implies."""

    create_topics: tuple[str, ...] = ()
    add_acls: tuple[AclBinding, ...] = ()
    remove_acls: tuple[GrantedAcl, ...] = ()
    create_users: tuple[str, ...] = ()
    """SCRAM users (names without ``User:``) the broker has no SCRAM-SHA-512 credential for."""

    @property
    def empty(self) -> bool:
        return not (self.create_topics or self.add_acls or self.remove_acls or self.create_users)


def principal_users(principals: Mapping[Party, str] = PRINCIPALS) -> list[str]:
    """The SCRAM user of each catalogue principal (services and parties; not the admin)."""
    return sorted(p.removeprefix("User:") for p in principals.values())


def plan_provisioning(
    existing_topics: Collection[str],
    existing_acls: Iterable[GrantedAcl],
    *,
    prune: bool = False,
    existing_users: Collection[str] | None = None,
    topics: Iterable[AnyTopic] = ALL_TOPICS,
    principals: Mapping[Party, str] = PRINCIPALS,
) -> ProvisionPlan:
    """What to create (topics, ACLs, and with `existing_users` given, SCRAM users) and, with
    `prune`, which Millrace-owned ACLs the catalogue no longer implies."""
    specs = list(topics)
    granted = set(existing_acls)
    wanted = acl_bindings(specs, principals)
    wanted_granted = {GrantedAcl.of(b) for b in wanted}
    users: tuple[str, ...] = ()
    if existing_users is not None:
        present = set(existing_users)
        users = tuple(u for u in principal_users(principals) if u not in present)
    return ProvisionPlan(
        create_topics=tuple(n for n in topic_names(specs) if n not in existing_topics),
        add_acls=tuple(b for b in wanted if GrantedAcl.of(b) not in granted),
        remove_acls=tuple(
            sorted(a for a in granted if is_millrace_owned(a) and a not in wanted_granted)
        )
        if prune
        else (),
        create_users=users,
    )
