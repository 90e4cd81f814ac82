"""Millrace local stack: a real Apache Kafka (KRaft) and an S3 server, without Docker.

`start(StackConfig.from_env())` is idempotent and returns once both servers answer; the
returned StackInfo carries `kafka_bootstrap` and `s3_endpoint` ("127.0.0.1:PORT").
"""

from millrace_infra.config import KAFKA_VERSION, StackConfig
from millrace_infra.errors import StackError, StackNotReady
from millrace_infra.kafka_fetch import fetch_kafka, is_fetched
from millrace_infra.stack import ComponentStatus, start, status, stop, wait_ready
from millrace_infra.state import StackInfo, read_state

__all__ = [
    "KAFKA_VERSION",
    "ComponentStatus",
    "StackConfig",
    "StackError",
    "StackInfo",
    "StackNotReady",
    "fetch_kafka",
    "is_fetched",
    "read_state",
    "start",
    "status",
    "stop",
    "wait_ready",
]
