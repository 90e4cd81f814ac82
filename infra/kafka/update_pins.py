"""Regenerate infra/kafka/jars.sha256, the pinned digests of Kafka's broker classpath
(or, with --asset zipkin, infra/zipkin/jars.sha256: Zipkin's executable server jar).

Run after changing pom.xml (`millrace-stack fetch` refuses jars that have no pin):

    .venv/bin/python infra/kafka/update_pins.py [--asset zipkin]

Maven resolves the classpath (into its local repository, ~/.m2); each pin is the sha256
of the jar Maven resolved, and is written only if that jar also matches the checksums
Maven Central publishes next to it (`.sha1`, plus `.sha256` / `.sha512` where they exist):
a pin is what Central serves, not merely what was downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from millrace_infra.config import KAFKA_VERSION, ZIPKIN_VERSION  # noqa: E402
from millrace_infra.kafka_pins import PINS_HEADER, file_sha256  # noqa: E402

CENTRAL = "https://repo1.maven.org/maven2"


ZIPKIN_HEADER = (
    "# Zipkin {version} executable server jar: the sha256 it must have (millrace_infra/zipkin.py).\n"
    "# Regenerate with .venv/bin/python infra/kafka/update_pins.py --asset zipkin after changing\n"
    "# pom.xml; it checks the jar against Maven Central's published .sha1/.sha256/.sha512 first.\n"
    "# sha256  file  groupId:artifactId:version"
)


def resolve(folder: Path) -> list[tuple[str, str, str, str, Path]]:
    """(group, artifact, version, classifier, local file) of every runtime jar, from Maven."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "deps.txt"
        subprocess.run(
            ["mvn", "-q", "-B", "--strict-checksums", "-f", str(folder / "pom.xml"),
             "dependency:list", "-DincludeScope=runtime", "-DoutputAbsoluteArtifactFilename=true",
             f"-DoutputFile={out}"],
            check=True,
        )  # fmt: skip
        found = []
        for line in out.read_text().splitlines():
            # group:artifact:jar[:classifier]:version:scope:/absolute/path[ -- module ...]
            fields = line.strip().split(" ")[0].split(":")
            if len(fields) == 6:
                group, artifact, _type, version, _scope, path = fields
                found.append((group, artifact, version, "", Path(path)))
            elif len(fields) == 7:
                group, artifact, _type, classifier, version, _scope, path = fields
                found.append((group, artifact, version, classifier, Path(path)))
        return found


def central(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return str(resp.read().decode().split()[0].strip().lower())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asset", choices=("kafka", "zipkin"), default="kafka")
    asset = parser.parse_args().asset
    folder = HERE.parent / asset
    header = ZIPKIN_HEADER.format(version=ZIPKIN_VERSION) if asset == "zipkin" else None
    lines = [header or PINS_HEADER.format(version=KAFKA_VERSION)]
    for group, artifact, version, classifier, jar in sorted(resolve(folder), key=lambda c: c[1]):
        name = f"{artifact}-{version}{'-' + classifier if classifier else ''}.jar"
        assert jar.name == name, (jar, name)  # the name copy-dependencies gives it
        url = f"{CENTRAL}/{group.replace('.', '/')}/{artifact}/{version}/{name}"
        checked = []
        for algo in ("sha1", "sha256", "sha512"):
            published = central(f"{url}.{algo}")
            if published is None:
                continue
            actual = hashlib.file_digest(jar.open("rb"), algo).hexdigest()
            if actual != published:
                print(f"{name}: {algo} {actual} != Maven Central's {published}", file=sys.stderr)
                return 1
            checked.append(algo)
        if "sha1" not in checked:
            print(f"{name}: Maven Central publishes no .sha1 at {url}", file=sys.stderr)
            return 1
        print(f"{name}: matches Maven Central ({', '.join(checked)})")
        lines.append(f"{file_sha256(jar)}  {name}  {group}:{artifact}:{version}")
    (folder / "jars.sha256").write_text("\n".join(lines) + "\n")
    print(f"wrote {folder / 'jars.sha256'} ({len(lines) - 1} jars)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
