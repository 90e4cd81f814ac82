"""The Jaeger build uses the repository's go.mod/go.sum as they are, and a cached binary is
used only if it still is the one that was built."""

from __future__ import annotations

from pathlib import Path

import pytest
from millrace_infra import jaeger_build
from millrace_infra.jaeger_build import (
    build_jaeger,
    is_built,
    jaeger_binary,
    jaeger_dist,
    verify_binary,
)
from millrace_infra.kafka_pins import DigestMismatch, file_sha256

MARKER = ".build-complete"


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILLRACE_JAEGER_BIN", raising=False)


def _cached_build(cache: Path, body: bytes = b"\x7fELF jaeger") -> Path:
    """A cache as a finished build leaves it: the binary, then the marker with its digest."""
    dist = jaeger_dist(cache)
    dist.mkdir(parents=True)
    binary = dist / "jaeger"
    binary.write_bytes(body)
    (dist / MARKER).write_text(f"github.com/x@v1\nsha256 {file_sha256(binary)}\n")
    return binary


def test_an_intact_cached_binary_is_used_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = _cached_build(tmp_path)

    def no_build(*_args: object) -> None:
        raise AssertionError("must not build")

    monkeypatch.setattr(jaeger_build, "_build", no_build)
    assert build_jaeger(tmp_path) == binary == jaeger_binary(tmp_path, {})


def test_a_swapped_cached_binary_is_refused_and_deleted(tmp_path: Path) -> None:
    binary = _cached_build(tmp_path)
    expected = file_sha256(binary)
    binary.write_bytes(b"\x7fELF something else")
    with pytest.raises(DigestMismatch) as raised:
        build_jaeger(tmp_path)
    assert expected in str(raised.value)
    assert not binary.exists()
    assert not is_built(tmp_path, {})  # the next run builds again


def test_a_build_without_a_recorded_digest_does_not_count_as_built(tmp_path: Path) -> None:
    binary = _cached_build(tmp_path)
    (jaeger_dist(tmp_path) / MARKER).write_text("github.com/x@v1\n")  # an older build's marker
    assert binary.is_file()
    assert not is_built(tmp_path, {})


def test_verify_binary_accepts_the_recorded_digest(tmp_path: Path) -> None:
    _cached_build(tmp_path)
    verify_binary(tmp_path)  # no error


def test_go_builds_with_the_committed_go_sum_and_no_checksum_bypass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "GONOSUMDB": "*",
        "GONOSUMCHECK": "1",
        "GOPRIVATE": "*",
        "GOINSECURE": "*",
        "GOSUMDB": "off",
        "GOFLAGS": "-mod=mod",
    }.items():
        monkeypatch.setenv(name, value)
    env = jaeger_build._go_env(tmp_path)
    assert "-mod=readonly" in env["GOFLAGS"].split()
    assert "-mod=mod" not in env["GOFLAGS"]
    assert env["GOSUMDB"] == "sum.golang.org"
    for name in ("GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GOINSECURE"):
        assert name not in env


def test_the_build_module_is_the_committed_one() -> None:
    files = jaeger_build.module_files()
    assert set(files) == {"go.mod", "go.sum"}
    assert "tool github.com/jaegertracing/jaeger/cmd/jaeger" in files["go.mod"].read_text()
