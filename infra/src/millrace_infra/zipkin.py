"""Zipkin (spans in over HTTP, in-memory storage, query API and UI out) under <home>/zipkin.

Zipkin publishes one self-contained executable jar on Maven Central
(io.zipkin:zipkin-server:<version>:exec, ~131 MB). Maven fetches it once per machine, like
Kafka's jars (infra/zipkin/pom.xml), and it must match its sha256 pinned in
infra/zipkin/jars.sha256: checked in the staging folder before it enters the cache, and
again on every start (131 MB: a second or two on a busy 2-core machine). It runs on the
Java 17 Kafka already needs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from millrace_infra.config import ZIPKIN_VERSION, StackConfig
from millrace_infra.errors import StackError
from millrace_infra.kafka_pins import DigestMismatch, Pin, load_pins, verify_jars
from millrace_infra.paths import java_executable, zipkin_asset
from millrace_infra.process import spawn

_HOST = "127.0.0.1"
_MARKER = ".fetch-complete"
JAR = f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"
MAX_SPANS = 500_000
"""In-memory storage bound (Zipkin's default is 500k spans); oldest traces go first."""
# Zipkin reads its settings from the environment (KAFKA_BOOTSTRAP_SERVERS would start a
# Kafka collector, STORAGE_TYPE another store...), so it gets only these, not the caller's.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME")


def zipkin_dir(config: StackConfig) -> Path:
    return config.home / "zipkin"


def zipkin_dist(cache: Path) -> Path:
    return cache / f"zipkin-{ZIPKIN_VERSION}"


def zipkin_jar(cache: Path) -> Path:
    return zipkin_dist(cache) / "lib" / JAR


def is_fetched(cache: Path) -> bool:
    # The marker is written last, so a fetch killed halfway is never mistaken for complete.
    return (zipkin_dist(cache) / _MARKER).is_file()


def load_zipkin_pins() -> dict[str, Pin]:
    return load_pins(zipkin_asset("jars.sha256"))


def fetch_zipkin(cache: Path, pins: dict[str, Pin] | None = None) -> Path:
    """Return the server jar, fetching it with Maven first if needed (~131 MB, seconds).

    Raises DigestMismatch if the jar (fetched now or cached earlier) is not the pinned one.
    """
    pins = load_zipkin_pins() if pins is None else pins
    dist = zipkin_dist(cache)
    if is_fetched(cache):
        _verify_cached(dist, pins)
        return zipkin_jar(cache)
    dist.mkdir(parents=True, exist_ok=True)
    # Parallel test sessions on a fresh machine must not copy into the same folder at once.
    with (dist.parent / f"{dist.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_fetched(cache):
            _verify_cached(dist, pins)
        else:
            _run_maven(dist, pins)
    return zipkin_jar(cache)


def _verify_cached(dist: Path, pins: dict[str, Pin]) -> None:
    try:
        verify_jars(dist / "lib", pins)
    except DigestMismatch as exc:
        (dist / _MARKER).unlink(missing_ok=True)
        raise DigestMismatch(
            f"the cached Zipkin {ZIPKIN_VERSION} in {dist} failed verification: {exc}. "
            "It will be fetched again on the next run (`millrace-stack fetch`)."
        ) from exc


def _run_maven(dist: Path, pins: dict[str, Pin]) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) is needed once to fetch Zipkin's jar; install Maven 3")
    staging = dist / "lib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    # A local repository of its own, deleted after: Kafka's fetch may run at the same time
    # with ~/.m2 (Maven 3.8 does not lock it across processes), and the 131 MB jar is not
    # kept twice.
    repository = dist / "m2.partial"
    cmd = [
        # --strict-checksums: Maven itself refuses a download that fails Central's .sha1.
        mvn, "-q", "-B", "--strict-checksums", "-f", str(zipkin_asset("pom.xml")),
        f"-Dmaven.repo.local={repository}",
        "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
    ]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(repository, ignore_errors=True)
    if done.returncode != 0 or not (staging / JAR).is_file():
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise StackError(f"fetching Zipkin {ZIPKIN_VERSION} with Maven failed:\n{tail}")
    try:
        verify_jars(staging, pins)
    except DigestMismatch as exc:
        # Nothing of a tampered fetch is kept: the staging folder never becomes the cache.
        shutil.rmtree(staging, ignore_errors=True)
        raise DigestMismatch(
            f"refusing the Zipkin {ZIPKIN_VERSION} jar Maven fetched: {exc}. It was downloaded "
            "afresh (into a local repository of its own), so check the mirror or proxy in "
            "~/.m2/settings.xml, if any."
        ) from exc
    shutil.rmtree(dist / "lib", ignore_errors=True)
    staging.rename(dist / "lib")
    (dist / _MARKER).write_text(f"{JAR}\n")


def command(config: StackConfig, java: Path, jar: Path) -> list[str]:
    """The server's command line: one HTTP port on loopback, in-memory storage."""
    folder = zipkin_dir(config)
    return [
        str(java),
        # Modest: a local stack's traces fit; C1 only and the serial collector start faster.
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
        # Names the folder on the command line: how the stack recognises its own process.
        f"-Dmillrace.home={folder}",
        "-jar", str(jar),
        # Zipkin listens on all interfaces by default; a list entry needs all three keys.
        f"--armeria.ports[0].ip={_HOST}",
        f"--armeria.ports[0].port={config.zipkin_port}",
        "--armeria.ports[0].protocols=http",
    ]  # fmt: skip


def server_env(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, str]:
    env = {k: v for k in _PASSED_ENV if (v := environ.get(k))}
    env |= {
        "STORAGE_TYPE": "mem",
        "MEM_MAX_SPANS": str(MAX_SPANS),
        "SELF_TRACING_ENABLED": "false",
        "COLLECTOR_SCRIBE_ENABLED": "false",
    }
    return env


def launch(config: StackConfig) -> int:
    jar = zipkin_jar(config.cache)
    if not is_fetched(config.cache) or not jar.is_file():
        raise StackError(
            f"Zipkin is not fetched yet ({jar} is missing): run `millrace-stack fetch`"
        )
    java = java_executable()
    if java is None:
        raise StackError("Java 17+ is needed to run Zipkin (and Kafka); install a JDK/JRE")
    folder = zipkin_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    return spawn(command(config, java, jar), log=folder / "zipkin.log", env=server_env())
