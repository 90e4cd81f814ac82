"""The secured stack's Kafka users: passwords made on first start, and the client settings
(MILLRACE_KAFKA_*) that let one principal connect."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from millrace_contracts.topics import PRINCIPALS

from millrace_infra.errors import StackError
from millrace_infra.kafka_acls import ADMIN_USER

CREDENTIALS_FILE = "credentials.json"
SASL_MECHANISM = "SCRAM-SHA-512"
SECURITY_PROTOCOL = "SASL_SSL"


def usernames() -> list[str]:
    """The admin, then one user per principal of the topic catalogue."""
    return [ADMIN_USER, *(p.removeprefix("User:") for p in PRINCIPALS.values())]


def _path(kafka_home: Path) -> Path:
    return kafka_home / CREDENTIALS_FILE


def read_credentials(kafka_home: Path) -> dict[str, str] | None:
    """User name to password, or None before the first secured start."""
    try:
        payload = json.loads(_path(kafka_home).read_text())
    except FileNotFoundError:
        return None
    if not isinstance(payload, dict):
        raise StackError(f"{_path(kafka_home)} is not a JSON object")
    return {str(k): str(v) for k, v in payload.items()}


def write_credentials_file(path: Path, passwords: dict[str, str]) -> None:
    """`passwords` as JSON (user name to password), created 0600 and renamed into place, so
    the file is never readable by others nor half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle, indent=2)
        handle.write("\n")
    tmp.replace(path)


def read_credentials_file(path: Path) -> dict[str, str]:
    """User name to password from a credentials file; empty when there is none."""
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(payload, dict):
        raise StackError(f"{path} is not a JSON object")
    return {str(k): str(v) for k, v in payload.items()}


def passwords_for(path: Path, users: list[str] | tuple[str, ...]) -> dict[str, str]:
    """A password for each of `users`: the one `path` holds, else a new random one, which is
    written to `path` (0600) before anyone uses it, so a password is never set on a broker
    without being kept. Other entries of the file are kept."""
    known = read_credentials_file(path)
    wanted = {u: known.get(u) or secrets.token_urlsafe(24) for u in users}
    if any(known.get(u) != p for u, p in wanted.items()):
        write_credentials_file(path, {**known, **wanted})
    return wanted


def ensure_credentials(kafka_home: Path) -> dict[str, str]:
    """The stored passwords, with one made for each user that has none yet.

    Random per stack home, never in the code: anyone who can read the home (0600) can act
    as any principal, as anyone with the broker's disk could.
    """
    known = read_credentials(kafka_home) or {}
    wanted = {name: known.get(name) or secrets.token_urlsafe(24) for name in usernames()}
    if wanted != known:
        write_credentials_file(_path(kafka_home), {**known, **wanted})
    return wanted


def resolve_user(name: str) -> str:
    """A principal's user name from what people type: ``millrace-data-teams``,
    ``data-teams``, ``data teams``, ``User:millrace-data-teams``, ``admin``."""
    wanted = name.strip().removeprefix("User:").replace(" ", "-").lower()
    for user in usernames():
        if wanted in {user, user.removeprefix("millrace-")}:
            return user
    known = ", ".join(u.removeprefix("millrace-") for u in usernames())
    raise StackError(f"unknown Kafka principal {name!r}; known: {known}")


def client_env(kafka_home: Path, cafile: Path, user: str) -> dict[str, str]:
    """The MILLRACE_KAFKA_* settings (besides the bootstrap) for a client acting as `user`."""
    credentials = read_credentials(kafka_home)
    if credentials is None:
        raise StackError(f"no Kafka credentials in {kafka_home}: is the stack secured?")
    user = resolve_user(user)
    if user not in credentials:
        raise StackError(f"no password stored for {user} in {_path(kafka_home)}")
    return {
        "MILLRACE_KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
        "MILLRACE_KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        "MILLRACE_KAFKA_SASL_USERNAME": user,
        "MILLRACE_KAFKA_SASL_PASSWORD": credentials[user],
        "MILLRACE_KAFKA_TLS_CAFILE": str(cafile),
    }
