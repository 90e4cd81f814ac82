"""Put a local file in the landing bucket with a progress bar and its recorded sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import urllib3
from millrace_contracts import ArtifactRef
from millrace_shared.objectstore import MinioObjectStore, make_uri
from millrace_shared.objectstore.base import CHUNK, SHA256_METADATA
from minio import Minio
from minio.error import MinioException, S3Error
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .endpoints import Endpoints
from .errors import CliError
from .net import tcp_answers

CONTENT_TYPES = {".csv": "text/csv", ".parquet": "application/vnd.apache.parquet"}


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=transient,
    )


class _MinioProgress:
    """minio's ``progress=`` hook (set_meta, update) onto a rich task."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def set_meta(self, object_name: str, total_length: int) -> None:
        self._progress.update(self._task, total=total_length)

    def update(self, length: int) -> None:
        self._progress.advance(self._task, length)


def sha256_with_progress(path: Path, progress: Progress) -> str:
    task = progress.add_task("sha256   ", total=path.stat().st_size)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            progress.advance(task, len(chunk))
    return digest.hexdigest()


def s3_client(endpoints: Endpoints) -> Minio:
    s = endpoints.settings
    return Minio(
        s.s3_endpoint,
        access_key=s.s3_access_key,
        secret_key=s.s3_secret_key.get_secret_value(),
        secure=s.s3_secure,
        region=s.s3_region,
    )


def check_reachable(endpoints: Endpoints) -> None:
    """A TCP connect first: the minio client would retry for a long while before failing."""
    secure = endpoints.settings.s3_secure
    if not tcp_answers(endpoints.settings.s3_endpoint, default_port=443 if secure else 80):
        raise endpoints.unreachable("s3")


@dataclass(frozen=True)
class Uploaded:
    ref: ArtifactRef
    bucket: str
    key: str
    etag: str
    """As S3 lists it: with bucket and key it names the object version, and the arrival's
    id (``landed_arrival_id``), the landing watcher's too."""


def upload(endpoints: Endpoints, path: Path, key: str, *, progress: Progress) -> Uploaded:
    """Hash, then upload ``path`` to ``s3://<landing>/<key>`` (multipart for big files)."""
    check_reachable(endpoints)
    bucket = endpoints.settings.bucket_landing
    client = s3_client(endpoints)
    digest = sha256_with_progress(path, progress)
    task = progress.add_task("upload   ", total=path.stat().st_size)
    try:
        MinioObjectStore(client).ensure_buckets([bucket])
        written = client.fput_object(
            bucket,
            key,
            str(path),
            content_type=CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"),
            metadata={SHA256_METADATA: digest},
            progress=_MinioProgress(progress, task),
        )
    except S3Error as error:
        raise CliError(
            f"S3 refused the upload to s3://{bucket}/{key}: {error.code}: {error.message}"
        ) from error
    except (MinioException, urllib3.exceptions.HTTPError) as error:
        raise CliError(f"upload to s3://{bucket}/{key} failed: {error}") from error
    ref = ArtifactRef(uri=make_uri(bucket, key), sha256=digest, size_bytes=path.stat().st_size)
    return Uploaded(ref=ref, bucket=bucket, key=key, etag=(written.etag or "").strip('"'))
