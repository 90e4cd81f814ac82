"""Kafka's jars are used only if they hash to the digests pinned in the repository.

A stand-in `mvn` on PATH plays Maven Central: it copies prepared jars (honest or
tampered) into the output folder Maven would fill, so the fetch path runs for real.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from millrace_infra.config import KAFKA_VERSION
from millrace_infra.kafka_fetch import fetch_kafka, is_fetched, kafka_dist, kafka_libs
from millrace_infra.kafka_pins import DigestMismatch, Pin, load_pins

GOOD = {f"kafka_2.13-{KAFKA_VERSION}.jar": b"broker classes", "lib-1.0.jar": b"a library"}


def _pins() -> dict[str, Pin]:
    return {
        name: Pin(name, hashlib.sha256(body).hexdigest(), f"org.example:{name}:1")
        for name, body in GOOD.items()
    }


@pytest.fixture
def central(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder whose jars the fake `mvn` "downloads"; starts with the honest ones."""
    served = tmp_path / "central"
    served.mkdir()
    for name, body in GOOD.items():
        (served / name).write_bytes(body)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case $arg in -DoutputDirectory=*) out=${arg#*=};; esac; done\n'
        f'mkdir -p "$out" && cp {served}/*.jar "$out"/\n'
        f"echo run >> {tmp_path / 'mvn-runs'}\n"
    )
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return served


def _cache_files(cache: Path) -> set[str]:
    return {p.name for p in cache.rglob("*.jar")}


def test_honest_jars_are_fetched_cached_and_reused(central: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    libs = fetch_kafka(cache, _pins())
    assert libs == kafka_libs(cache)
    assert _cache_files(cache) == set(GOOD)
    assert is_fetched(cache)
    assert fetch_kafka(cache, _pins()) == libs
    assert (tmp_path / "mvn-runs").read_text().count("run") == 1  # the cache was reused


def test_a_tampered_download_is_refused_and_not_cached(central: Path, tmp_path: Path) -> None:
    (central / "lib-1.0.jar").write_bytes(b"a library, with a backdoor")
    cache = tmp_path / "cache"
    with pytest.raises(DigestMismatch) as raised:
        fetch_kafka(cache, _pins())
    message = str(raised.value)
    assert "lib-1.0.jar" in message
    assert _pins()["lib-1.0.jar"].sha256 in message  # expected
    assert hashlib.sha256(b"a library, with a backdoor").hexdigest() in message  # actual
    assert not is_fetched(cache)
    assert _cache_files(cache) == set()  # not even the honest jar of that fetch is kept

    (central / "lib-1.0.jar").write_bytes(GOOD["lib-1.0.jar"])  # the mirror is fixed
    fetch_kafka(cache, _pins())
    assert _cache_files(cache) == set(GOOD)


def test_an_unpinned_jar_is_refused(central: Path, tmp_path: Path) -> None:
    (central / "surprise-2.0.jar").write_bytes(b"new transitive dependency")
    cache = tmp_path / "cache"
    with pytest.raises(DigestMismatch, match=r"no pinned digest.*surprise-2\.0\.jar"):
        fetch_kafka(cache, _pins())
    assert not is_fetched(cache)
    assert _cache_files(cache) == set()


def test_a_cached_jar_is_verified_again_on_use(central: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    libs = fetch_kafka(cache, _pins())
    (libs / "lib-1.0.jar").write_bytes(b"swapped in the cache")
    with pytest.raises(DigestMismatch, match=r"lib-1\.0\.jar.*expected [0-9a-f]{64}, got"):
        fetch_kafka(cache, _pins())
    assert not (libs / "lib-1.0.jar").exists()  # the bad file is gone
    assert not is_fetched(cache)  # and the next run fetches again
    fetch_kafka(cache, _pins())
    assert (libs / "lib-1.0.jar").read_bytes() == GOOD["lib-1.0.jar"]


def test_the_real_cache_matches_the_pins_when_present() -> None:
    """On a machine that has fetched Kafka, the cached jars are exactly the pinned ones."""
    from millrace_infra.paths import default_cache

    libs = kafka_dist(default_cache()) / "libs"
    if not is_fetched(default_cache()):
        pytest.skip("Kafka is not fetched on this machine")
    present = {p.name for p in libs.glob("*.jar")}
    assert present == set(load_pins())
