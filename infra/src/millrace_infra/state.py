"""The endpoints of a stack, and the JSON state file that lets other processes find them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millrace_infra.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, StackConfig

STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackInfo:
    """How clients reach a running stack."""

    kafka_bootstrap: str
    """`host:port` for Kafka clients (bootstrap servers)."""
    s3_endpoint: str
    """`host:port` of the S3 API, plain HTTP (the form the minio client takes)."""
    s3_access_key: str
    s3_secret_key: str = field(repr=False)
    home: Path | None = None
    """The stack's home folder; None for a stack found through environment variables."""

    @classmethod
    def for_config(cls, config: StackConfig) -> StackInfo:
        return cls(
            kafka_bootstrap=f"127.0.0.1:{config.kafka_port}",
            s3_endpoint=f"127.0.0.1:{config.s3_port}",
            s3_access_key=config.s3_access_key,
            s3_secret_key=config.s3_secret_key,
            home=config.home,
        )

    def env(self) -> dict[str, str]:
        """The MILLRACE_* variables services and tests read to find this stack."""
        return {
            "MILLRACE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "MILLRACE_S3_ENDPOINT": self.s3_endpoint,
            "MILLRACE_S3_ACCESS_KEY": self.s3_access_key,
            "MILLRACE_S3_SECRET_KEY": self.s3_secret_key,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackInfo | None:
        """The stack named by MILLRACE_KAFKA_BOOTSTRAP + MILLRACE_S3_ENDPOINT, if both set."""
        env = os.environ if env is None else env
        bootstrap, endpoint = env.get("MILLRACE_KAFKA_BOOTSTRAP"), env.get("MILLRACE_S3_ENDPOINT")
        if not bootstrap or not endpoint:
            return None
        return cls(
            kafka_bootstrap=bootstrap,
            s3_endpoint=endpoint,
            s3_access_key=env.get("MILLRACE_S3_ACCESS_KEY", DEV_ACCESS_KEY),
            s3_secret_key=env.get("MILLRACE_S3_SECRET_KEY", DEV_SECRET_KEY),
        )


def write_state(config: StackConfig, pids: Mapping[str, int]) -> Path:
    info = StackInfo.for_config(config)
    payload: dict[str, Any] = {
        "kafka_bootstrap": info.kafka_bootstrap,
        "s3_endpoint": info.s3_endpoint,
        "s3_access_key": info.s3_access_key,
        "s3_secret_key": info.s3_secret_key,
        "env": info.env(),
        "home": str(config.home),
        "cache": str(config.cache),
        "ports": config.ports_dict(),
        "pids": dict(pids),
    }
    path = config.home / STATE_FILE
    tmp = path.with_suffix(".tmp")
    # Written whole then renamed so a reader never sees half a file; 0600 as it holds a key.
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def read_state(home: Path) -> StackConfig | None:
    """The config a stack in `home` was started with, or None if there is no state file."""
    try:
        payload = json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return StackConfig(
        home=home,
        cache=Path(payload["cache"]),
        s3_access_key=payload["s3_access_key"],
        s3_secret_key=payload["s3_secret_key"],
        **{k: int(v) for k, v in payload["ports"].items()},
    )


def remove_state(home: Path) -> None:
    (home / STATE_FILE).unlink(missing_ok=True)
