"""The object store's bucket notifications (S3 event JSON, as MinIO's Kafka target publishes
it) turned into the same arrivals the listing makes.

A notification holds ``Records``, each with its ``eventName``, the bucket, and the object's
key (URL-encoded, as S3 and MinIO write it), size and ``eTag``; ``userIdentity.principalId``
names who wrote it (MinIO: the access key). Only ``ObjectCreated`` records of the landing
bucket whose key is a dataset's file become arrivals, with the id ``landed_arrival_id``
gives the listing and ``millrace publish`` for the same (bucket, key, ETag): with both paths
on, Kafka may carry an object's arrival twice, ingestion takes it once. Deletes, reads and
other buckets are ignored. A record that claims a created object but has no key or ETag is
malformed: the whole notification goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from millrace_contracts import DataArrived
from millrace_shared.faults import PoisonMessage
from pydantic import BaseModel, ConfigDict, Field

from .arrivals import LandedObject, arrival_for

CREATED = ("s3:ObjectCreated:", "ObjectCreated:")
"""MinIO names events ``s3:ObjectCreated:Put``; AWS's own records ``ObjectCreated:Put``."""


class _Lenient(BaseModel):
    # The store's format, not ours: fields we do not read may come and go.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class S3Bucket(_Lenient):
    name: str = Field(description="The bucket's name.")


class S3Object(_Lenient):
    key: str | None = Field(default=None, description="The object's key, URL-encoded.")
    etag: str | None = Field(default=None, alias="eTag", description="The object's ETag.")
    size: int | None = Field(default=None, description="Bytes.")


class S3Entity(_Lenient):
    bucket: S3Bucket
    object: S3Object


class UserIdentity(_Lenient):
    principal_id: str | None = Field(
        default=None, alias="principalId", description="Who wrote the object (MinIO: access key)."
    )


class NotificationRecord(_Lenient):
    event_name: str = Field(alias="eventName", description="e.g. s3:ObjectCreated:Put.")
    s3: S3Entity
    user_identity: UserIdentity | None = Field(default=None, alias="userIdentity")


class BucketNotification(_Lenient):
    """One message of MinIO's Kafka target (its ``EventName`` and ``Key`` are not needed:
    every record says its own)."""

    records: list[NotificationRecord] = Field(alias="Records")


def landed_of(record: NotificationRecord, landing_bucket: str) -> LandedObject | None:
    """The created object a record tells of, when it is in the landing bucket."""
    if not record.event_name.startswith(CREATED) or record.s3.bucket.name != landing_bucket:
        return None
    obj = record.s3.object
    if not obj.key or not obj.etag:
        raise PoisonMessage(
            f"an {record.event_name} record of s3://{landing_bucket} without a key or an eTag"
        )
    return LandedObject(
        bucket=landing_bucket,
        key=unquote_plus(obj.key),
        etag=obj.etag.strip('"'),
        size=obj.size or 0,
    )


def arrivals_of(
    notification: BucketNotification, *, landing_bucket: str, producer: str, submitted_by: str
) -> list[DataArrived]:
    """The arrivals a notification announces; ``submitted_by`` where the store names nobody.

    Every record is checked before any arrival is returned: a malformed record dead-letters
    its whole notification, and none of it is half announced.
    """
    found = []
    for record in notification.records:
        landed = landed_of(record, landing_bucket)
        if landed is None:
            continue
        identity = record.user_identity.principal_id if record.user_identity else None
        arrival = arrival_for(landed, producer=producer, submitted_by=identity or submitted_by)
        if arrival is not None:
            found.append(arrival)
    return found
