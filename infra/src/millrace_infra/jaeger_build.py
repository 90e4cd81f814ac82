"""Build Jaeger v2 all-in-one from source with Go, once per machine.

Jaeger publishes no Go-installable binary (`go install …@tag` refuses its replace
directive), so a module kept in the repository (infra/jaeger/go.mod, go.sum: `tool`
github.com/jaegertracing/jaeger/cmd/jaeger) is copied under the cache and `go build`s it.
Go's module and build caches live under the cache too: the build does not depend on (or
fill) the user's own Go setup. `$MILLRACE_JAEGER_BIN` names a ready binary instead (used
as is: it is the user's own).

Supply chain: go.sum pins every module by hash and the build runs with -mod=readonly, so a
module that is not pinned or does not match is an error, never a silent update; the
user's GONOSUMDB/GONOSUMCHECK/GOPRIVATE/GOINSECURE/GOSUMDB=off are not passed on. The
binary's sha256 is recorded in the marker when built and checked again on every use.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from millrace_infra.config import JAEGER_MODULE_VERSION, JAEGER_VERSION
from millrace_infra.errors import StackError
from millrace_infra.kafka_pins import DigestMismatch, file_sha256

_MODULE = "github.com/jaegertracing/jaeger"
_PACKAGE = f"{_MODULE}/cmd/jaeger"
_MARKER = ".build-complete"
_FALLBACK_GO = Path("/usr/local/go/bin/go")
_SOURCE_MODULE = Path(__file__).resolve().parents[2] / "jaeger"  # infra/jaeger in a checkout
# Settings that would let Go skip checking modules against go.sum and the checksum database.
_UNSAFE_GO_ENV = ("GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GOINSECURE", "GOFLAGS")

Progress = Callable[[str], None]


def jaeger_dist(cache: Path) -> Path:
    return cache / f"jaeger-{JAEGER_VERSION}"


def go_root(cache: Path) -> Path:
    """GOPATH, GOMODCACHE and GOCACHE of the build (a few GB; safe to delete)."""
    return cache / "go"


def jaeger_binary(cache: Path, env: Mapping[str, str] = os.environ) -> Path:
    """`$MILLRACE_JAEGER_BIN` if set, else the cached build (which may not exist yet)."""
    if override := env.get("MILLRACE_JAEGER_BIN"):
        return Path(override).expanduser()
    return jaeger_dist(cache) / "jaeger"


def is_built(cache: Path, env: Mapping[str, str] = os.environ) -> bool:
    if env.get("MILLRACE_JAEGER_BIN"):
        return jaeger_binary(cache, env).is_file()
    # The marker is written last, so a build killed halfway is never mistaken for complete;
    # a marker without the binary's digest (older builds) does not count either.
    return _recorded_sha256(cache) is not None and jaeger_binary(cache, env).is_file()


def _recorded_sha256(cache: Path) -> str | None:
    marker = jaeger_dist(cache) / _MARKER
    if not marker.is_file():
        return None
    for line in marker.read_text().splitlines():
        if line.startswith("sha256 "):
            return line.removeprefix("sha256 ").strip()
    return None


def verify_binary(cache: Path) -> None:
    """Raise (and discard the build) if the cached binary is not the one that was built."""
    binary = jaeger_binary(cache, {})
    expected = _recorded_sha256(cache)
    actual = file_sha256(binary)
    if actual != expected:
        binary.unlink(missing_ok=True)
        (jaeger_dist(cache) / _MARKER).unlink(missing_ok=True)
        raise DigestMismatch(
            f"the cached Jaeger binary {binary} does not match the sha256 recorded when it was "
            f"built: expected {expected}, got {actual}; it was deleted and will be rebuilt "
            "on the next run"
        )


def module_files() -> dict[str, Path]:
    """go.mod and go.sum of the build module (infra/jaeger), from a checkout or a wheel."""
    from importlib import resources

    files: dict[str, Path] = {}
    for name in ("go.mod", "go.sum"):
        packaged = resources.files("millrace_infra") / "_jaeger" / name
        source = _SOURCE_MODULE / name
        path = Path(str(packaged)) if packaged.is_file() else source
        if not path.is_file():
            raise FileNotFoundError(f"millrace-infra asset jaeger/{name} is missing")
        files[name] = path
    return files


def go_executable() -> Path | None:
    if goroot := os.environ.get("GOROOT"):
        candidate = Path(goroot) / "bin" / "go"
        if candidate.is_file():
            return candidate
    found = shutil.which("go")
    if found:
        return Path(found)
    return _FALLBACK_GO if _FALLBACK_GO.is_file() else None


def build_jaeger(cache: Path, progress: Progress | None = None) -> Path:
    """Return the Jaeger binary, building it first if needed.

    The first build downloads ~300 modules and compiles ~2000 packages: several minutes
    and ~2 GB of Go caches. `progress` receives one short line per step and per module or
    package, for a spinner.
    """
    binary = jaeger_binary(cache)
    if is_built(cache):
        if not os.environ.get("MILLRACE_JAEGER_BIN"):
            verify_binary(cache)
        return binary
    if os.environ.get("MILLRACE_JAEGER_BIN"):
        raise StackError(f"$MILLRACE_JAEGER_BIN names {binary}, which is not a file")
    dist = jaeger_dist(cache)
    dist.mkdir(parents=True, exist_ok=True)
    # Parallel test sessions on a fresh machine must not build into the same folder at once.
    with (dist.parent / f"{dist.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_built(cache):
            _build(cache, dist, progress or (lambda _line: None))
    return binary


def _go_env(cache: Path) -> dict[str, str]:
    root = go_root(cache)
    inherited = {k: v for k, v in os.environ.items() if k not in _UNSAFE_GO_ENV}
    return {
        **inherited,
        "GOPATH": str(root),
        "GOMODCACHE": str(root / "pkg" / "mod"),
        "GOCACHE": str(root / "build"),
        # -mod=readonly: go.mod and go.sum are used as committed; a module missing from
        # go.sum or not matching it stops the build. -modcacherw: the module cache stays
        # deletable with rm -rf.
        "GOFLAGS": "-mod=readonly -modcacherw -buildvcs=false",
        "GOSUMDB": "sum.golang.org",
        "CGO_ENABLED": "0",
        "GOWORK": "off",
        "GO111MODULE": "on",
    }


def _build(cache: Path, dist: Path, progress: Progress) -> None:
    go = go_executable()
    if go is None:
        raise StackError(
            "Go (1.24+) is needed once to build Jaeger; install it from https://go.dev/dl/ "
            "or set MILLRACE_JAEGER_BIN to a Jaeger v2 binary (or run the stack with "
            "--no-jaeger / MILLRACE_STACK_NO_JAEGER=1)"
        )
    module = dist / "build"
    shutil.rmtree(module, ignore_errors=True)
    module.mkdir(parents=True)
    for name, path in module_files().items():
        shutil.copyfile(path, module / name)
    env = _go_env(cache)
    staging = dist / "jaeger.partial"
    staging.unlink(missing_ok=True)

    ldflags = f"-s -w -X {_MODULE}/internal/version.latestVersion=v{JAEGER_VERSION}"
    progress(f"go build {_PACKAGE}@{JAEGER_MODULE_VERSION} (modules pinned by go.sum)")
    _run_go(
        [str(go), "build", "-v", "-trimpath", f"-ldflags={ldflags}", "-o", str(staging), _PACKAGE],
        module, env, progress, "compiling packages",
    )  # fmt: skip
    digest = file_sha256(staging)
    staging.replace(dist / "jaeger")
    (dist / _MARKER).write_text(f"{_PACKAGE}@{JAEGER_MODULE_VERSION}\nsha256 {digest}\n")


def _run_go(argv: list[str], cwd: Path, env: dict[str, str], progress: Progress, what: str) -> None:
    """Run a go command, reporting each line it prints as progress (`go get` prints one
    line per downloaded module, `go build -v` one per compiled package)."""
    tail: deque[str] = deque(maxlen=40)
    count = 0
    with subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail.append(line)
            count += 1
            progress(f"{what} ({count}): {line.removeprefix('go: ')}")
    if proc.returncode != 0:
        log = "\n".join(tail)
        raise StackError(f"building Jaeger failed: `go {argv[1]}` exited {proc.returncode}:\n{log}")
