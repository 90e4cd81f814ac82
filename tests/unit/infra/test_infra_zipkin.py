"""The local stack's Zipkin: loopback only, a clean environment, its pinned jar, and the
endpoints services are given."""

from __future__ import annotations

from pathlib import Path

import pytest
from millrace_infra import StackConfig, StackInfo
from millrace_infra.kafka_pins import DigestMismatch, Pin, file_sha256
from millrace_infra.zipkin import JAR, command, fetch_zipkin, server_env, zipkin_dist


def test_the_server_listens_on_loopback_at_its_port_with_in_memory_storage(
    tmp_path: Path,
) -> None:
    config = StackConfig.from_base_port(29092, home=tmp_path)
    argv = command(config, Path("/usr/bin/java"), Path("/cache/zipkin.jar"))
    assert "--armeria.ports[0].ip=127.0.0.1" in argv
    assert f"--armeria.ports[0].port={config.zipkin_port}" in argv
    assert any(a.startswith("-Xmx") for a in argv)
    assert f"-Dmillrace.home={tmp_path / 'zipkin'}" in argv  # how the stack finds its pid
    assert config.zipkin_port in config.all_ports()


def test_the_server_gets_no_setting_of_the_callers_environment() -> None:
    env = server_env({"PATH": "/bin", "KAFKA_BOOTSTRAP_SERVERS": "x:9092", "STORAGE_TYPE": "es"})
    assert env["STORAGE_TYPE"] == "mem"
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env
    assert env["PATH"] == "/bin"


def test_services_are_told_where_to_send_spans(tmp_path: Path) -> None:
    config = StackConfig.from_base_port(29092, home=tmp_path, secure=False)
    env = StackInfo.for_config(config).env()
    assert env["MILLRACE_ZIPKIN_ENDPOINT"] == f"http://127.0.0.1:{config.zipkin_port}/api/v2/spans"
    assert "MILLRACE_OTLP_ENDPOINT" not in env
    without = StackInfo.for_config(StackConfig.from_base_port(29092, home=tmp_path, zipkin=False))
    assert "MILLRACE_ZIPKIN_ENDPOINT" not in without.env()


def test_a_cached_jar_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    lib = zipkin_dist(tmp_path) / "lib"
    lib.mkdir(parents=True)
    (lib / JAR).write_bytes(b"not zipkin")
    (zipkin_dist(tmp_path) / ".fetch-complete").write_text(JAR)
    pins = {JAR: Pin(JAR, "0" * 64, "io.zipkin:zipkin-server:x")}
    with pytest.raises(DigestMismatch, match="does not match its pinned sha256"):
        fetch_zipkin(tmp_path, pins)
    assert not (lib / JAR).exists()
    assert not (zipkin_dist(tmp_path) / ".fetch-complete").exists()  # fetched again next time
    (lib / JAR).write_bytes(b"zipkin")
    (zipkin_dist(tmp_path) / ".fetch-complete").write_text(JAR)
    good = {JAR: Pin(JAR, file_sha256(lib / JAR), "io.zipkin:zipkin-server:x")}
    assert fetch_zipkin(tmp_path, good) == lib / JAR
