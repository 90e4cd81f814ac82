"""What the project downloads is pinned in the repository (issue "Trust", supply chain).

CI has no Docker engine, so images are checked as text: exact tags, installs from uv.lock.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from millrace_infra.config import KAFKA_VERSION, ZIPKIN_VERSION
from millrace_infra.kafka_pins import load_pins

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = sorted(
    p for p in ROOT.rglob("Dockerfile*") if ".venv" not in p.parts and ".git" not in p.parts
)
# An exact version: at least major.minor.patch, or a dated release (MinIO's RELEASE.…).
EXACT_TAG = re.compile(r"^(v?\d+\.\d+\.\d+([-.][\w.-]+)?|RELEASE\.\d{4}-\d\d-\d\dT[\w-]+)$")


def _check_image(ref: str, where: str) -> None:
    name, _, digest = ref.partition("@")
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    assert tag, f"{where}: image {ref} has no tag (that means :latest)"
    assert tag != "latest", f"{where}: image {ref} uses :latest"
    assert EXACT_TAG.match(tag), f"{where}: image {ref} is not pinned to an exact version"
    if digest:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{where}: bad digest in {ref}"


def _from_images(dockerfile: Path) -> list[str]:
    """The external images a Dockerfile starts from (not its own earlier stages)."""
    stages: set[str] = set()
    images = []
    for line in dockerfile.read_text().splitlines():
        m = re.match(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            if m.group(1).lower() not in stages:
                images.append(m.group(1))
            if m.group(2):
                stages.add(m.group(2).lower())
        m = re.search(r"COPY\s+--from=(\S+)", line)
        if m and m.group(1).lower() not in stages:
            images.append(m.group(1))
    return images


def _setup_uv_version() -> str:
    m = re.search(r"^UV_VERSION=(\S+)$", (ROOT / "scripts" / "setup").read_text(), re.M)
    assert m, "scripts/setup pins no UV_VERSION"
    return m.group(1)


def test_there_are_dockerfiles_to_check() -> None:
    assert ROOT / "Dockerfile" in DOCKERFILES  # every service's image is built by it


def test_the_shared_base_installs_every_service_from_the_lock() -> None:
    """One ``uv sync --locked`` for all services: one resolution, shared by every image."""
    text = (ROOT / "Dockerfile").read_text()
    [sync] = re.findall(r"^RUN\s+(uv sync(?:[^\n\\]|\\\n)*)", text, re.M)
    services = sorted(
        p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists()
    )
    assert sorted(re.findall(r"--package millrace-(\S+)", sync)) == services
    assert "--no-dev" in sync and "--locked" in sync


def test_compose_images_have_exact_tags() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name
        if "image" in service:
            _check_image(service["image"], f"docker-compose.yml service {name}")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_images_have_exact_tags(dockerfile: Path) -> None:
    images = _from_images(dockerfile)
    assert images, f"{dockerfile} starts from no image"
    for image in images:
        _check_image(image, str(dockerfile.relative_to(ROOT)))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_installs_python_packages_from_the_lock(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    runs = " ".join(re.findall(r"^RUN\s+(.*(?:\\\n.*)*)", text, re.M))
    assert re.search(r"\buv sync\b[^&;]*--(locked|frozen)\b", runs), (
        f"{dockerfile}: install with `uv sync --locked` (hashes from uv.lock)"
    )
    assert "pip install" not in runs, f"{dockerfile}: pip would resolve outside uv.lock"
    uv_images = [i for i in _from_images(dockerfile) if i.startswith("ghcr.io/astral-sh/uv:")]
    assert uv_images, f"{dockerfile}: uv must come from the pinned ghcr.io/astral-sh/uv image"
    for image in uv_images:
        assert image.split("@")[0] == f"ghcr.io/astral-sh/uv:{_setup_uv_version()}", (
            f"{dockerfile}: uv {image} differs from scripts/setup's UV_VERSION"
        )


def test_dockerignore_keeps_local_state_out_of_the_images() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", ".millrace"} <= ignored


def test_setup_installs_the_workspace_from_the_lock() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    syncs = re.findall(r"uv sync[^\n]*", setup)
    assert syncs and all("--locked" in s or "--frozen" in s for s in syncs), syncs
    assert "uv lock" not in setup  # setup never re-resolves
    lock = (ROOT / "uv.lock").read_text()
    assert 'hash = "sha256:' in lock  # uv.lock carries the packages' hashes


def test_setup_installs_uv_by_hash_at_the_pinned_version() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    assert "--require-hashes" in setup and "-r scripts/uv-requirements.txt" in setup
    assert not re.search(r"pip install[^\n]*\"uv==", setup)  # no unhashed install left
    requirements = (ROOT / "scripts" / "uv-requirements.txt").read_text()
    assert re.search(rf"^uv=={re.escape(_setup_uv_version())} \\$", requirements, re.M)
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", requirements)) >= 2


def test_every_dependency_in_the_kafka_pom_has_a_pinned_jar() -> None:
    """pom.xml is the download list; each direct dependency's jar must be pinned (its
    transitive jars are checked at fetch time, which refuses any unpinned jar)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(ROOT / "infra" / "kafka" / "pom.xml").getroot()
    properties = pom.find("m:properties", ns)
    assert properties is not None
    props = {el.tag.split("}")[1]: el.text or "" for el in properties}
    pins = load_pins(ROOT / "infra" / "kafka" / "jars.sha256")
    deps = pom.findall("m:dependencies/m:dependency", ns)
    assert deps
    for dep in deps:
        artifact = dep.findtext("m:artifactId", namespaces=ns)
        version = re.sub(
            r"\$\{([^}]+)\}",
            lambda m: props[m.group(1)],
            dep.findtext("m:version", namespaces=ns) or "",
        )
        group = dep.findtext("m:groupId", namespaces=ns)
        jar = f"{artifact}-{version}.jar"
        assert jar in pins, f"{jar} from pom.xml has no pin in infra/kafka/jars.sha256"
        assert pins[jar].coordinates == f"{group}:{artifact}:{version}"
    assert f"kafka_2.13-{KAFKA_VERSION}.jar" in pins
    for pin in pins.values():
        _group, artifact, version = pin.coordinates.split(":")
        assert pin.name.startswith(f"{artifact}-{version}"), pin


def test_the_zipkin_pom_fetches_only_the_pinned_executable_jar() -> None:
    """One self-contained jar (classifier exec), its transitive dependencies excluded, and
    that jar pinned: fetch refuses anything else."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(ROOT / "infra" / "zipkin" / "pom.xml").getroot()
    deps = pom.findall("m:dependencies/m:dependency", ns)
    assert len(deps) == 1
    dep = deps[0]
    assert dep.findtext("m:artifactId", namespaces=ns) == "zipkin-server"
    assert dep.findtext("m:classifier", namespaces=ns) == "exec"
    exclusions = dep.findall("m:exclusions/m:exclusion", ns)
    assert [(e.findtext("m:groupId", namespaces=ns), e.findtext("m:artifactId", namespaces=ns))
            for e in exclusions] == [("*", "*")]  # fmt: skip
    pins = load_pins(ROOT / "infra" / "zipkin" / "jars.sha256")
    jar = f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"
    assert list(pins) == [jar]
    assert pins[jar].coordinates == f"io.zipkin:zipkin-server:{ZIPKIN_VERSION}"
