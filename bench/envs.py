"""The baselines' own environments under ``bench/.envs/`` (never the project's venv).

Each is a venv made with uv from the project's interpreter, with pinned versions; a marker
file holding the spec makes later runs instant. The MLflow env pins the project's own
scikit-learn and numpy, so both servers load the very same fitted estimator.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ENVS = BENCH / ".envs"

MLFLOW_VERSION = "3.17.2"  # 3.18.0 is listed on PyPI but its mlflow-skinny is not
EVIDENTLY_VERSION = "0.7.23"
PY_SPY_VERSION = "0.4.3"


def _project(name: str) -> str:
    return importlib.metadata.version(name)


@dataclass(frozen=True)
class EnvSpec:
    name: str
    requirements: tuple[str, ...]

    @property
    def path(self) -> Path:
        return ENVS / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, tool: str) -> Path:
        return self.path / "bin" / tool

    @property
    def marker(self) -> Path:
        return self.path / ".bench-spec"

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.requirements).encode()).hexdigest()[:16]

    def ready(self) -> bool:
        return self.marker.is_file() and self.marker.read_text().strip() == self.digest()

    def versions(self) -> dict[str, str]:
        """Installed versions of the packages named in the spec (for the report)."""
        if not self.python.exists():
            return {}
        names = [
            r.split("==")[0].split("<")[0].split(">")[0].split("[")[0] for r in self.requirements
        ]
        code = (
            "import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))"
        )
        done = subprocess.run(
            [str(self.python), "-c", code, *names], capture_output=True, text=True, check=False
        )
        try:
            result: dict[str, str] = json.loads(done.stdout)
        except json.JSONDecodeError:
            return {}
        return result


def specs() -> dict[str, EnvSpec]:
    sklearn, numpy, skops = _project("scikit-learn"), _project("numpy"), _project("skops")
    return {
        "mlflow": EnvSpec(
            "mlflow",
            (
                f"mlflow=={MLFLOW_VERSION}",
                f"scikit-learn=={sklearn}",
                f"numpy=={numpy}",
                f"skops=={skops}",
                # MLflow's server is uvicorn; give it the same fast loop and parser Millrace has.
                "uvicorn[standard]",
            ),
        ),
        "evidently": EnvSpec(
            "evidently",
            (f"evidently=={EVIDENTLY_VERSION}", "pandas<3", f"numpy=={numpy}", "pyarrow"),
        ),
        "tools": EnvSpec("tools", (f"py-spy=={PY_SPY_VERSION}",)),
    }


def _uv() -> list[str]:
    if shutil.which("uv"):
        return ["uv"]
    probe = subprocess.run(
        [sys.executable, "-m", "uv", "--version"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    probe = subprocess.run(["python3", "-m", "uv", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["python3", "-m", "uv"]
    raise RuntimeError("uv is needed to build the baselines' environments (pip install uv)")


def ensure(spec: EnvSpec, log: Path) -> EnvSpec:
    """Create or update the env; raises with the installer's output when it fails."""
    if spec.ready():
        return spec
    uv = _uv()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        if not spec.python.exists():
            subprocess.run(
                [*uv, "venv", str(spec.path), "--python", sys.executable],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )
        done = subprocess.run(
            [*uv, "pip", "install", "--python", str(spec.python), *spec.requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"installing {spec.name} env failed; see {log}")
    spec.marker.write_text(spec.digest() + "\n")
    return spec


def available(name: str) -> EnvSpec | None:
    spec = specs()[name]
    return spec if spec.ready() else None


def ensure_wrk(log: Path) -> str | None:
    """``wrk`` from the system, installed with apt-get when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None or not hasattr(__import__("os"), "geteuid"):
        return None
    import os

    if os.geteuid() != 0:
        return None
    with log.open("ab") as out:
        subprocess.run(
            ["apt-get", "install", "-y", "wrk"], stdout=out, stderr=subprocess.STDOUT, check=False
        )
        if shutil.which("wrk") is None:
            subprocess.run(["apt-get", "update"], stdout=out, stderr=subprocess.STDOUT, check=False)
            subprocess.run(
                ["apt-get", "install", "-y", "wrk"],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
    return shutil.which("wrk")
