"""Download Apache Kafka's broker jars from Maven Central, once per machine."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from millrace_infra.config import KAFKA_VERSION
from millrace_infra.errors import StackError
from millrace_infra.paths import kafka_asset

_MARKER = ".fetch-complete"


def kafka_dist(cache: Path) -> Path:
    return cache / f"kafka-{KAFKA_VERSION}"


def kafka_libs(cache: Path) -> Path:
    return kafka_dist(cache) / "libs"


def is_fetched(cache: Path) -> bool:
    # The marker is written last, so a fetch killed halfway is never mistaken for complete.
    return (kafka_dist(cache) / _MARKER).is_file()


def fetch_kafka(cache: Path) -> Path:
    """Return the libs folder, fetching it with Maven first if needed (about 15-60 s)."""
    dist = kafka_dist(cache)
    if is_fetched(cache):
        return kafka_libs(cache)
    dist.mkdir(parents=True, exist_ok=True)
    # A lock, because parallel test sessions on a fresh machine would otherwise copy jars
    # into the same folder at the same time.
    with (dist.parent / f"{dist.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_fetched(cache):
            _run_maven(dist)
    return kafka_libs(cache)


def _run_maven(dist: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) is needed once to fetch Kafka's jars; install Maven 3")
    staging = dist / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn, "-q", "-B", "-f", str(kafka_asset("pom.xml")),
        "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise StackError(f"fetching Kafka {KAFKA_VERSION} with Maven failed:\n{tail}")
    shutil.rmtree(dist / "libs", ignore_errors=True)
    staging.rename(dist / "libs")
    jars = sorted(p.name for p in (dist / "libs").glob("*.jar"))
    (dist / _MARKER).write_text("\n".join(jars) + "\n")
