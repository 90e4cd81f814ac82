"""The object-store port over the ``minio`` client (MinIO, SeaweedFS, AWS S3).

Conditional puts go through ``boto3`` instead: minio-py cannot send ``If-None-Match`` or
``If-Match`` on a PUT. Both clients talk to the same endpoint with the same identity."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from millrace_contracts import ArtifactRef
from minio import Minio
from minio.error import S3Error

from ..settings import MillraceSettings
from .base import (
    CHUNK,
    SHA256_METADATA,
    ObjectInfo,
    ObjectNotFound,
    ObjectTooLarge,
    PreconditionFailed,
    copy_hashing,
    sha256_of_file,
    split_uri,
    verify,
)

_MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchObject"}

PART_SIZE = 64 * 1024 * 1024
"""Objects up to this size go up in one PUT. minio-py's own choice (5 MiB parts) turns a 20 MB
dataset into a multipart upload (initiate, four parts, complete: six requests instead of one);
a part is held in memory either way."""


_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}
"""412: the condition is false; 409: another conditional write to the key is in flight."""


class MinioObjectStore:
    def __init__(self, client: Minio, conditional: Any | None = None) -> None:
        self._client = client
        self._s3 = conditional
        """A boto3 S3 client for the conditional puts; None: this store cannot make them."""

    @classmethod
    def from_settings(cls, settings: MillraceSettings) -> MinioObjectStore:
        secret = settings.s3_secret_key.get_secret_value()
        scheme = "https" if settings.s3_secure else "http"
        conditional = boto3.client(
            "s3",
            endpoint_url=f"{scheme}://{settings.s3_endpoint}",
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=secret,
            region_name=settings.s3_region or "us-east-1",
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                # Plain payloads, as minio-py sends: no aws-chunked trailing checksums, which
                # not every S3-compatible server reads.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )
        return cls(
            Minio(
                settings.s3_endpoint,
                access_key=settings.s3_access_key,
                secret_key=secret,
                secure=settings.s3_secure,
                region=settings.s3_region,
            ),
            conditional,
        )

    def ensure_buckets(self, buckets: Iterable[str]) -> None:
        """Make the missing buckets. An identity allowed only some buckets (the secured stack's
        services) is refused even the question for the others: those are left to whoever
        may use them, and a bucket it may read but not make must exist already."""
        for bucket in buckets:
            try:
                exists = self._client.bucket_exists(bucket)
            except S3Error as err:
                if err.code != "AccessDenied":
                    raise
                continue
            if not exists:
                try:
                    self._client.make_bucket(bucket)
                except S3Error as err:  # another service may have made it meanwhile
                    if err.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise

    def put_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        bucket, key = split_uri(uri)
        digest = hashlib.sha256(data).hexdigest()
        self._client.put_object(
            bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
            metadata={SHA256_METADATA: digest},
            part_size=PART_SIZE,
        )
        return ArtifactRef(uri=uri, sha256=digest, size_bytes=len(data))

    def put_file(
        self, uri: str, path: Path, content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        bucket, key = split_uri(uri)
        digest = sha256_of_file(path)
        self._client.fput_object(
            bucket,
            key,
            str(path),
            content_type=content_type,
            metadata={SHA256_METADATA: digest},
            part_size=PART_SIZE,
        )
        return ArtifactRef(uri=uri, sha256=digest, size_bytes=path.stat().st_size)

    def create_bytes(
        self, uri: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        return self._conditional_put(uri, data, content_type, IfNoneMatch="*")

    def replace_bytes(
        self, uri: str, data: bytes, etag: str, content_type: str = "application/octet-stream"
    ) -> str:
        return self._conditional_put(uri, data, content_type, IfMatch=etag)

    def get_versioned(self, uri: str) -> tuple[bytes, str]:
        bucket, key = split_uri(uri)
        try:
            response = self._boto().get_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if _code(err) in _MISSING or _status(err) == 404:
                raise ObjectNotFound(uri) from err
            raise
        data: bytes = response["Body"].read()
        recorded = (response.get("Metadata") or {}).get(SHA256_METADATA)
        verify(uri, recorded, hashlib.sha256(data).hexdigest())
        return data, str(response["ETag"])

    def _conditional_put(self, uri: str, data: bytes, content_type: str, **condition: str) -> str:
        bucket, key = split_uri(uri)
        try:
            response = self._boto().put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                Metadata={SHA256_METADATA: hashlib.sha256(data).hexdigest()},
                **condition,
            )
        except ClientError as err:
            if _code(err) in _LOST_RACE or _status(err) in {409, 412}:
                header = "If-None-Match" if "IfNoneMatch" in condition else "If-Match"
                raise PreconditionFailed(
                    uri, f"{header}: {next(iter(condition.values()))}"
                ) from err
            raise
        return str(response["ETag"])

    def _boto(self) -> Any:
        if self._s3 is None:
            raise RuntimeError("this MinioObjectStore has no client for conditional puts")
        return self._s3

    def stat(self, uri: str) -> ObjectInfo:
        bucket, key = split_uri(uri)
        try:
            info = self._client.stat_object(bucket, key)
        except S3Error as err:
            raise self._translate(err, uri) from err
        metadata = info.metadata or {}
        recorded = metadata.get(f"x-amz-meta-{SHA256_METADATA}") or metadata.get(
            f"X-Amz-Meta-{SHA256_METADATA.capitalize()}"
        )
        return ObjectInfo(size=int(info.size or 0), sha256=recorded)

    def exists(self, uri: str) -> bool:
        try:
            self.stat(uri)
        except ObjectNotFound:
            return False
        return True

    def get_bytes(self, uri: str, sha256: str | None = None, max_bytes: int | None = None) -> bytes:
        sink = io.BytesIO()
        self._read_into(uri, sink, sha256, max_bytes)
        return sink.getvalue()

    def download(
        self, uri: str, dest: Path, sha256: str | None = None, max_bytes: int | None = None
    ) -> str:
        try:
            with dest.open("wb") as sink:
                return self._read_into(uri, sink, sha256, max_bytes)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [
            obj.object_name
            for obj in self._client.list_objects(bucket, prefix=prefix, recursive=True)
            if obj.object_name is not None
        ]

    def list_prefixes(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(
            obj.object_name
            for obj in self._client.list_objects(bucket, prefix=prefix, recursive=False)
            if obj.is_dir and obj.object_name is not None
        )

    def delete(self, uri: str) -> None:
        bucket, key = split_uri(uri)
        self._client.remove_object(bucket, key)

    def _read_into(
        self, uri: str, sink: BinaryIO, sha256: str | None, max_bytes: int | None
    ) -> str:
        """Stream the object into ``sink``, verified against ``sha256`` or, failing that, the
        digest recorded at write time; return its digest.

        The recorded digest and the size come from the GET's own headers, never from a HEAD
        before it: an object overwritten between a HEAD and a GET (a state document that
        another handler rewrites) would pair one version's digest with the other's bytes and
        look corrupt although both versions are whole."""
        bucket, key = split_uri(uri)
        try:
            response: Any = self._client.get_object(bucket, key)
        except S3Error as err:
            raise self._translate(err, uri) from err
        try:
            headers = response.headers
            size = int(headers.get("content-length") or 0)
            if max_bytes is not None and size > max_bytes:
                raise ObjectTooLarge(uri, size, max_bytes)
            actual = copy_hashing(response.stream(CHUNK), sink, uri, max_bytes)
        finally:
            response.close()
            response.release_conn()
        verify(uri, sha256 or headers.get(f"x-amz-meta-{SHA256_METADATA}"), actual)
        return actual

    @staticmethod
    def _translate(err: S3Error, uri: str) -> Exception:
        if err.code in _MISSING:
            return ObjectNotFound(uri)
        return err


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
