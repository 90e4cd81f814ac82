"""What a secured stack writes: broker properties, passwords, TLS files, client settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from millrace_contracts.topics import PRINCIPALS
from millrace_infra.config import StackConfig
from millrace_infra.errors import StackError
from millrace_infra.kafka import prepare, server_properties
from millrace_infra.kafka_security import (
    client_env,
    ensure_credentials,
    resolve_user,
    usernames,
)
from millrace_infra.state import StackInfo, read_state, write_state
from millrace_infra.tls import ensure_tls


def _props(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _config(tmp_path: Path, **overrides: object) -> StackConfig:
    return StackConfig.from_base_port(29092, home=tmp_path, **overrides)


def test_a_plain_stack_keeps_its_plaintext_listener(tmp_path: Path) -> None:
    props = _props(server_properties(_config(tmp_path, secure=False)))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert "authorizer.class.name" not in props
    assert props["auto.create.topics.enable"] == "true"


def test_a_secured_stack_serves_sasl_ssl_with_the_standard_authorizer(tmp_path: Path) -> None:
    config = _config(tmp_path, secure=True)
    props = _props(server_properties(config, admin_password="s3cret"))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:29092"
    assert props["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    jaas = props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert 'username="millrace-admin" password="s3cret";' in jaas
    assert props["ssl.keystore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(tmp_path / "kafka/tls/kafka-server.pem")
    assert props["ssl.truststore.location"] == str(tmp_path / "kafka/tls/ca.pem")
    assert props["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:millrace-admin;User:ANONYMOUS"
    assert props["auto.create.topics.enable"] == "false"


def test_a_secured_stack_needs_the_admin_password(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="admin password"):
        server_properties(_config(tmp_path, secure=True))


def test_passwords_are_random_private_and_kept(tmp_path: Path) -> None:
    first = ensure_credentials(tmp_path)
    assert list(first) == usernames()
    assert len(set(first.values())) == len(first)
    assert all(len(p) >= 32 for p in first.values())
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600
    assert ensure_credentials(tmp_path) == first
    assert ensure_credentials(tmp_path / "other") != first


def test_one_user_per_principal_besides_the_admin() -> None:
    assert usernames()[0] == "millrace-admin"
    assert {f"User:{u}" for u in usernames()[1:]} == set(PRINCIPALS.values())


@pytest.mark.parametrize(
    ("typed", "user"),
    [
        ("registry", "millrace-registry"),
        ("data teams", "millrace-data-teams"),
        ("User:millrace-operators", "millrace-operators"),
        ("Application-Teams", "millrace-application-teams"),
    ],
)
def test_principals_are_found_by_the_names_people_type(typed: str, user: str) -> None:
    assert resolve_user(typed) == user


def test_an_unknown_principal_is_refused() -> None:
    with pytest.raises(StackError, match="unknown Kafka principal"):
        resolve_user("mallory")


def test_client_settings_carry_one_principals_secret(tmp_path: Path) -> None:
    passwords = ensure_credentials(tmp_path)
    env = client_env(tmp_path, tmp_path / "ca.pem", "registry")
    assert env == {
        "MILLRACE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "MILLRACE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "MILLRACE_KAFKA_SASL_USERNAME": "millrace-registry",
        "MILLRACE_KAFKA_SASL_PASSWORD": passwords["millrace-registry"],
        "MILLRACE_KAFKA_TLS_CAFILE": str(tmp_path / "ca.pem"),
    }


def test_the_broker_certificate_is_signed_by_the_local_ca_for_loopback(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    pem = files.server_keystore.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka's PEM store reads
    leaf, chain_ca = x509.load_pem_x509_certificates(pem[pem.index(b"-----BEGIN CERT") :])
    assert chain_ca == ca
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert stat.S_IMODE(files.server_keystore.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    again = ensure_tls(tmp_path / "tls")
    assert again.ca_cert.read_bytes() == files.ca_cert.read_bytes()
    assert again.server_keystore.read_bytes() == pem


def test_the_stack_is_secured_unless_insecure_is_asked_for(tmp_path: Path) -> None:
    assert StackConfig().secure
    assert StackConfig.from_env({"MILLRACE_HOME": str(tmp_path)}).secure
    env = {"MILLRACE_HOME": str(tmp_path), "MILLRACE_STACK_INSECURE": "1"}
    assert not StackConfig.from_env(env).secure


def test_stack_info_gives_each_principal_its_settings(tmp_path: Path) -> None:
    config = _config(tmp_path, secure=True, zipkin=False)
    passwords = ensure_credentials(tmp_path / "kafka")
    s3_keys = ensure_credentials(tmp_path / "s3")
    info = StackInfo.for_config(config)
    env = info.client_env("data-teams")
    assert env["MILLRACE_S3_ACCESS_KEY"] == "millrace-data-teams"
    assert env["MILLRACE_S3_SECRET_KEY"] == s3_keys["millrace-data-teams"]
    assert info.s3_env("admin")["MILLRACE_S3_ACCESS_KEY"] == config.s3_access_key
    assert env["MILLRACE_KAFKA_BOOTSTRAP"] == info.kafka_bootstrap
    assert env["MILLRACE_S3_ENDPOINT"] == info.s3_endpoint
    assert env["MILLRACE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-data-teams"
    assert env["MILLRACE_KAFKA_SASL_PASSWORD"] == passwords["millrace-data-teams"]
    assert env["MILLRACE_KAFKA_TLS_CAFILE"].endswith("ca.pem")
    assert info.kafka_env("admin")["MILLRACE_KAFKA_SASL_USERNAME"] == "millrace-admin"
    assert "MILLRACE_KAFKA_SASL_PASSWORD" not in info.env()
    with pytest.raises(StackError, match="unknown Kafka principal"):
        info.kafka_env("nobody")


def test_a_plaintext_stack_gives_only_the_bootstrap(tmp_path: Path) -> None:
    info = StackInfo.for_config(_config(tmp_path, secure=False, zipkin=False))
    assert info.kafka_env("registry") == {"MILLRACE_KAFKA_BOOTSTRAP": info.kafka_bootstrap}


def test_an_external_stack_hands_on_the_security_settings_it_was_given() -> None:
    env = {
        "MILLRACE_KAFKA_BOOTSTRAP": "kafka:9093",
        "MILLRACE_S3_ENDPOINT": "s3:9000",
        "MILLRACE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "MILLRACE_KAFKA_SASL_USERNAME": "someone",
    }
    info = StackInfo.from_env(env)
    assert info is not None
    assert info.secure
    assert info.kafka_env("registry")["MILLRACE_KAFKA_SASL_USERNAME"] == "someone"


def test_the_state_file_remembers_a_secured_stack(tmp_path: Path) -> None:
    config = _config(tmp_path, secure=True, zipkin=False)
    write_state(config, {"kafka": 1})
    recorded = read_state(tmp_path)
    assert recorded is not None
    assert recorded.secure


def test_a_secured_home_is_not_started_plaintext(tmp_path: Path) -> None:
    ensure_credentials(tmp_path / "kafka")
    with pytest.raises(StackError, match="secured"):
        prepare(_config(tmp_path, secure=False))
