"""Download Apache Kafka's broker jars from Maven Central, once per machine.

Every jar must match its sha256 pinned in infra/kafka/jars.sha256 (kafka_pins): checked in
the staging folder before the jars enter the cache, and again on every later use.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from millrace_infra.config import KAFKA_VERSION
from millrace_infra.errors import StackError
from millrace_infra.kafka_pins import DigestMismatch, Pin, load_pins, verify_jars
from millrace_infra.paths import kafka_asset

_MARKER = ".fetch-complete"


def kafka_dist(cache: Path) -> Path:
    return cache / f"kafka-{KAFKA_VERSION}"


def kafka_libs(cache: Path) -> Path:
    return kafka_dist(cache) / "libs"


def is_fetched(cache: Path) -> bool:
    # The marker is written last, so a fetch killed halfway is never mistaken for complete.
    return (kafka_dist(cache) / _MARKER).is_file()


def fetch_kafka(cache: Path, pins: dict[str, Pin] | None = None) -> Path:
    """Return the libs folder, fetching it with Maven first if needed (about 15-60 s).

    Raises DigestMismatch if a jar (fetched now or cached earlier) is not the pinned one.
    """
    pins = load_pins() if pins is None else pins
    dist = kafka_dist(cache)
    if is_fetched(cache):
        _verify_cached(dist, pins)
        return kafka_libs(cache)
    dist.mkdir(parents=True, exist_ok=True)
    # A lock, because parallel test sessions on a fresh machine would otherwise copy jars
    # into the same folder at the same time.
    with (dist.parent / f"{dist.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_fetched(cache):
            _verify_cached(dist, pins)
        else:
            _run_maven(dist, pins)
    return kafka_libs(cache)


def _verify_cached(dist: Path, pins: dict[str, Pin]) -> None:
    try:
        verify_jars(dist / "libs", pins)
    except DigestMismatch as exc:
        # Without the marker the next fetch starts over instead of trusting this folder.
        (dist / _MARKER).unlink(missing_ok=True)
        raise DigestMismatch(
            f"the cached Kafka {KAFKA_VERSION} in {dist} failed verification: {exc}. "
            "It will be fetched again on the next run (`millrace-stack fetch`)."
        ) from exc


def _run_maven(dist: Path, pins: dict[str, Pin]) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) is needed once to fetch Kafka's jars; install Maven 3")
    staging = dist / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        # --strict-checksums: Maven itself refuses a download that fails Central's .sha1.
        mvn, "-q", "-B", "--strict-checksums", "-f", str(kafka_asset("pom.xml")),
        "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise StackError(f"fetching Kafka {KAFKA_VERSION} with Maven failed:\n{tail}")
    try:
        verify_jars(staging, pins)
    except DigestMismatch as exc:
        # Nothing of a tampered fetch is kept: the staging folder never becomes the cache.
        shutil.rmtree(staging, ignore_errors=True)
        raise DigestMismatch(
            f"refusing the Kafka {KAFKA_VERSION} jars Maven fetched: {exc}. If the file comes "
            "from a corrupted local Maven repository (~/.m2/repository), delete it there."
        ) from exc
    shutil.rmtree(dist / "libs", ignore_errors=True)
    staging.rename(dist / "libs")
    jars = sorted(p.name for p in (dist / "libs").glob("*.jar"))
    (dist / _MARKER).write_text("\n".join(jars) + "\n")
