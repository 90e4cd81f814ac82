"""Pinned sha256 digests of Kafka's broker jars (infra/kafka/jars.sha256), and checks.

Maven resolves the classpath from Maven Central; the pins, kept in the repository, are what
the jars must hash to before they enter the cache, and again each time the cache is used
(about 45 MB: a twentieth of a second). `infra/kafka/update_pins.py` regenerates them,
cross-checked against the checksums Maven Central publishes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from millrace_infra.errors import StackError
from millrace_infra.paths import kafka_asset

PINS_FILE = "jars.sha256"
PINS_HEADER = (
    "# Kafka {version} broker classpath: the sha256 every jar must have (millrace_infra/kafka_pins.py).\n"
    "# Regenerate with .venv/bin/python infra/kafka/update_pins.py after changing pom.xml;\n"
    "# it checks each jar against Maven Central's published .sha1/.sha256/.sha512 first.\n"
    "# sha256  file  groupId:artifactId:version"
)


@dataclass(frozen=True)
class Pin:
    name: str
    sha256: str
    coordinates: str


class DigestMismatch(StackError):
    """A downloaded or cached artifact does not hash to its pinned digest."""


def load_pins(path: Path | None = None) -> dict[str, Pin]:
    """The pins by jar file name."""
    text = (path or kafka_asset(PINS_FILE)).read_text()
    pins: dict[str, Pin] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3 or len(fields[0]) != 64:
            raise StackError(f"{PINS_FILE} line {number} is not 'sha256  file  coordinates'")
        pins[fields[1]] = Pin(name=fields[1], sha256=fields[0].lower(), coordinates=fields[2])
    return pins


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_jars(libs: Path, pins: dict[str, Pin]) -> None:
    """Raise unless `libs` holds exactly the pinned jars, each with its pinned digest.

    A mismatching jar is deleted before raising, so it is never used or kept; the caller
    decides what else to discard.
    """
    present = {p.name for p in libs.glob("*.jar")}
    if unpinned := sorted(present - pins.keys()):
        raise DigestMismatch(
            f"Kafka jars with no pinned digest in {PINS_FILE}: {', '.join(unpinned)} "
            "(did pom.xml change without infra/kafka/update_pins.py?)"
        )
    if missing := sorted(pins.keys() - present):
        raise DigestMismatch(f"pinned Kafka jars missing from {libs}: {', '.join(missing)}")
    for name in sorted(present):
        jar = libs / name
        actual = file_sha256(jar)
        expected = pins[name].sha256
        if actual != expected:
            jar.unlink()
            raise DigestMismatch(
                f"{name} ({pins[name].coordinates}) does not match its pinned sha256: "
                f"expected {expected}, got {actual}; the file was deleted"
            )
