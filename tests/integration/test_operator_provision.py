"""`millrace admin kafka provision` against the session's real secured stack, as its admin
given through MILLRACE_KAFKA_* (as an operator points it at an existing cluster).

A topic and an ACL removed by hand come back, a dry run changes nothing, a stale Millrace
ACL added by hand goes with --prune, and a second run has nothing to do.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from millrace_cli.main import app
from millrace_infra.kafka_plan import GrantedAcl
from typer.testing import CliRunner

pytestmark = pytest.mark.integration
runner = CliRunner()

REMOVED_TOPIC = "millrace.labels.observed.v1.dlq"
REMOVED_ACL = GrantedAcl(
    "User:millrace-application-teams", "TOPIC", "LITERAL", "millrace.labels.observed.v1", "WRITE"
)
STALE_ACL = GrantedAcl(
    # What a forged promotion would need: the catalogue never lets data teams write it.
    "User:millrace-data-teams",
    "TOPIC",
    "LITERAL",
    "millrace.model.promoted.v1",
    "WRITE",
)


@pytest.fixture
def admin(local_stack: Any) -> Any:
    if not local_stack.secure or local_stack.home is None:
        pytest.skip("needs the session's own secured stack (its admin's credentials)")
    from millrace_infra.kafka_provision import admin_client

    env = local_stack.kafka_env("admin")
    return admin_client(
        local_stack.kafka_bootstrap,
        Path(env["MILLRACE_KAFKA_TLS_CAFILE"]),
        env["MILLRACE_KAFKA_SASL_PASSWORD"],
    )


@pytest.fixture
def operator_env(
    local_stack: Any, admin: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The admin's MILLRACE_KAFKA_* only, and a home without a stack: nothing found locally."""
    for key in list(__import__("os").environ):
        if key.startswith("MILLRACE_"):
            monkeypatch.delenv(key)
    return {
        "MILLRACE_HOME": str(tmp_path / "empty-home"),
        "MILLRACE_ENVIRONMENT": "dev",
        **local_stack.kafka_env("admin"),
    }


@pytest.fixture
def restored(admin: Any) -> Iterator[None]:
    """Whatever happens, leave the cluster as the catalogue says for the tests that follow."""
    from millrace_infra.kafka_provision import apply_plan, delete_acls, read_plan

    yield
    delete_acls(admin, [a for a in [STALE_ACL] if a in _acls(admin)])
    apply_plan(admin, read_plan(admin))


def _acls(admin: Any) -> set[GrantedAcl]:
    from millrace_infra.kafka_provision import existing_acls

    return set(existing_acls(admin))


def _topics(admin: Any) -> set[str]:
    from millrace_infra.kafka_provision import existing_topics

    return existing_topics(admin)


def _until(what: str, done: Callable[[], bool]) -> None:
    """Brokers show new ACLs and topic changes asynchronously: wait until they do."""
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, f"the cluster never showed {what}"
        time.sleep(0.25)


def _delete_topic(admin: Any, name: str) -> None:
    admin.delete_topics([name], operation_timeout=30)[name].result()
    _until(f"{name} deleted", lambda: name not in _topics(admin))


def _run(env: dict[str, str], *args: str) -> Any:
    result = runner.invoke(app, ["admin", "kafka", "provision", *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_provision_restores_what_was_removed_and_prunes_what_is_stale(
    admin: Any, operator_env: dict[str, str], restored: None
) -> None:
    from millrace_infra.kafka_acls import AclBinding, Operation, Pattern, Resource
    from millrace_infra.kafka_provision import create_acls, delete_acls

    _until("the stack's own ACLs", lambda: REMOVED_ACL in _acls(admin))
    _run(operator_env, "--prune")  # start from what the catalogue says
    assert STALE_ACL not in _acls(admin)

    _delete_topic(admin, REMOVED_TOPIC)
    delete_acls(admin, [REMOVED_ACL])
    stale = AclBinding(
        STALE_ACL.principal, Resource.TOPIC, Pattern.LITERAL, STALE_ACL.name, Operation.WRITE
    )
    create_acls(admin, [stale])
    _until(
        "the hand-made changes",
        lambda: STALE_ACL in (acls := _acls(admin)) and REMOVED_ACL not in acls,
    )
    before = (_topics(admin), _acls(admin))

    plan = json.loads(_run(operator_env, "--prune", "--dry-run", "--json").stdout)
    assert plan == {
        "dry_run": True,
        "create_topics": [REMOVED_TOPIC],
        "add_acls": [str(REMOVED_ACL)],
        "remove_acls": [str(STALE_ACL)],
        "create_users": [],
    }
    # The dry run changed nothing, and the real run still finds all three to do.
    assert (_topics(admin), _acls(admin)) == before

    applied = _run(operator_env, "--prune")
    for change in (REMOVED_TOPIC, str(REMOVED_ACL), str(STALE_ACL), "done"):
        assert change in applied.stdout
    assert REMOVED_TOPIC in _topics(admin)
    acls = _acls(admin)
    assert REMOVED_ACL in acls and STALE_ACL not in acls

    again = _run(
        operator_env, "--prune", "--users", str(Path(operator_env["MILLRACE_HOME"]) / "u.json")
    )
    assert "nothing to do" in again.stdout
    assert not (Path(operator_env["MILLRACE_HOME"]) / "u.json").exists()


def test_a_scram_user_is_made_on_the_running_cluster(admin: Any, local_stack: Any) -> None:
    from confluent_kafka.admin import ScramMechanism, UserScramCredentialDeletion
    from millrace_infra.kafka_provision import admin_client, scram_users, upsert_scram_users

    user = f"millrace-test-{uuid.uuid4().hex[:8]}"
    assert scram_users(admin, [user]) == set()
    upsert_scram_users(admin, {user: "a-password-made-for-this-test"})
    try:
        assert scram_users(admin, [user]) == {user}
        # The new user authenticates (it may see nothing: it has no ACLs).
        cafile = Path(local_stack.kafka_env("admin")["MILLRACE_KAFKA_TLS_CAFILE"])
        client = admin_client(
            local_stack.kafka_bootstrap, cafile, "a-password-made-for-this-test", username=user
        )
        assert REMOVED_TOPIC not in client.list_topics(timeout=30).topics
    finally:
        deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
        for future in admin.alter_user_scram_credentials([deletion]).values():
            future.result()
