"""The provisioning plan: what an operator's `millrace admin kafka provision` would change."""

from __future__ import annotations

import stat
from pathlib import Path

from millrace_infra.kafka_acls import acl_bindings, topic_names
from millrace_infra.kafka_plan import (
    GrantedAcl,
    is_millrace_owned,
    plan_provisioning,
    principal_users,
)
from millrace_infra.kafka_security import passwords_for, read_credentials_file

WANTED = [GrantedAcl.of(b) for b in acl_bindings()]


def test_an_empty_cluster_gets_every_topic_and_acl() -> None:
    plan = plan_provisioning(set(), [], prune=True)
    assert list(plan.create_topics) == topic_names()
    assert list(plan.add_acls) == acl_bindings()
    assert plan.remove_acls == () and plan.create_users == ()
    assert not plan.empty


def test_a_provisioned_cluster_has_nothing_to_do() -> None:
    plan = plan_provisioning(
        set(topic_names()), WANTED, prune=True, existing_users=principal_users()
    )
    assert plan.empty


def test_only_what_is_missing_is_planned() -> None:
    topics = topic_names()
    missing_acl = WANTED[3]
    plan = plan_provisioning(
        set(topics[1:]), [a for a in WANTED if a != missing_acl], existing_users=[]
    )
    assert plan.create_topics == (topics[0],)
    assert [GrantedAcl.of(b) for b in plan.add_acls] == [missing_acl]
    assert list(plan.create_users) == principal_users()


def test_prune_removes_only_stale_millrace_allow_acls() -> None:
    stale = GrantedAcl(
        "User:millrace-data-teams", "TOPIC", "LITERAL", "millrace.model.promoted.v1", "WRITE"
    )
    stale_group = GrantedAcl("User:millrace-registry", "GROUP", "PREFIXED", "millrace-", "READ")
    foreign = [
        GrantedAcl("User:alice", "TOPIC", "LITERAL", "millrace.model.promoted.v1", "WRITE"),
        GrantedAcl("User:millrace-operators", "TOPIC", "PREFIXED", "millrace-test.", "READ"),
        GrantedAcl("User:millrace-operators", "TOPIC", "LITERAL", "payments", "READ"),
        GrantedAcl("User:millrace-data-teams", "TOPIC", "LITERAL", "millrace.x", "WRITE", "DENY"),
        GrantedAcl("User:millrace-admin", "TOPIC", "PREFIXED", "millrace.", "ALL"),
        GrantedAcl("User:millrace-operators", "CLUSTER", "LITERAL", "kafka-cluster", "DESCRIBE"),
    ]
    existing = [*WANTED, stale, stale_group, *foreign]
    plan = plan_provisioning(set(topic_names()), existing, prune=True)
    assert list(plan.remove_acls) == sorted([stale, stale_group])
    assert not plan.add_acls and not plan.create_topics
    assert not any(is_millrace_owned(a) for a in foreign)
    # Without --prune nothing is ever removed.
    assert plan_provisioning(set(topic_names()), existing).remove_acls == ()


def test_an_acl_for_one_host_does_not_count_as_the_catalogues() -> None:
    one_host = [
        GrantedAcl(a.principal, a.resource, a.pattern, a.name, a.operation, host="10.0.0.1")
        for a in WANTED
    ]
    plan = plan_provisioning(set(topic_names()), one_host, prune=True)
    assert list(plan.add_acls) == acl_bindings()
    assert sorted(plan.remove_acls) == sorted(one_host)


def test_passwords_are_kept_in_a_private_file_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "creds" / "users.json"
    path.parent.mkdir()
    path.write_text('{"someone-else": "theirs"}')
    first = passwords_for(path, ["millrace-registry", "millrace-training"])
    assert len(set(first.values())) == 2 and all(len(p) >= 24 for p in first.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_credentials_file(path) == {"someone-else": "theirs", **first}
    again = passwords_for(path, ["millrace-training"])
    assert again == {"millrace-training": first["millrace-training"]}
