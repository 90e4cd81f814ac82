"""`millrace admin kafka provision`: whose credentials it uses, and how it prints a plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import isolate
from millrace_cli.commands.admin import admin_connection, plan_as_dict
from millrace_cli.endpoints import resolve
from millrace_cli.main import app
from millrace_infra import StackConfig
from millrace_infra.kafka_acls import acl_bindings
from millrace_infra.kafka_plan import GrantedAcl, ProvisionPlan
from millrace_infra.kafka_security import ensure_credentials
from millrace_infra.state import write_state
from typer.testing import CliRunner


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    isolate(monkeypatch, tmp_path)
    return tmp_path


def test_the_local_stacks_admin_when_nothing_is_set(home: Path) -> None:
    write_state(StackConfig.from_base_port(31000, home=home), {})
    passwords = ensure_credentials(home / "kafka")
    conn = admin_connection(resolve())
    assert conn.bootstrap == "127.0.0.1:31000"
    assert (conn.username, conn.password) == ("millrace-admin", passwords["millrace-admin"])
    assert conn.security_protocol == "SASL_SSL" and conn.sasl_mechanism == "SCRAM-SHA-512"
    assert conn.cafile == home / "kafka" / "tls" / "ca.pem"


def test_an_existing_clusters_admin_from_the_environment_and_options(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_state(StackConfig.from_base_port(31000, home=home), {})
    ensure_credentials(home / "kafka")
    monkeypatch.setenv("MILLRACE_ENVIRONMENT", "dev")
    monkeypatch.setenv("MILLRACE_KAFKA_BOOTSTRAP", "kafka.example:9093")
    monkeypatch.setenv("MILLRACE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_USERNAME", "ops-admin")
    monkeypatch.setenv("MILLRACE_KAFKA_SASL_PASSWORD", "their-password")
    monkeypatch.setenv("MILLRACE_KAFKA_TLS_CAFILE", "/etc/kafka/ca.pem")
    conn = admin_connection(resolve())
    assert (conn.bootstrap, conn.username, conn.password) == (
        "kafka.example:9093",
        "ops-admin",
        "their-password",
    )
    assert conn.cafile == Path("/etc/kafka/ca.pem")
    other = admin_connection(resolve(), username="root", password="x", cafile=Path("c.pem"))
    assert (other.username, other.password, other.cafile) == ("root", "x", Path("c.pem"))


def test_the_plan_as_json_names_each_change() -> None:
    binding = acl_bindings()[0]
    stale = GrantedAcl("User:millrace-data-teams", "TOPIC", "LITERAL", "millrace.x.v1", "WRITE")
    plan = ProvisionPlan(("millrace.x.v1",), (binding,), (stale,), ("millrace-registry",))
    assert plan_as_dict(plan) == {
        "create_topics": ["millrace.x.v1"],
        "add_acls": [str(GrantedAcl.of(binding))],
        "remove_acls": ["ALLOW User:millrace-data-teams WRITE topic millrace.x.v1"],
        "create_users": ["millrace-registry"],
    }


def test_an_unreachable_cluster_is_one_clear_error(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from millrace_infra.ports import free_port

    monkeypatch.setenv("MILLRACE_ENVIRONMENT", "dev")
    result = CliRunner().invoke(
        app, ["admin", "kafka", "provision", "--bootstrap", f"127.0.0.1:{free_port()}"]
    )
    assert result.exit_code == 5, result.output
    assert "not reachable" in result.output
