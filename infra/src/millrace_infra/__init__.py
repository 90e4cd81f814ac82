"""Millrace local stack: a real Apache Kafka (KRaft), an S3 server and Zipkin, without Docker.

`start(StackConfig.from_env())` is idempotent and returns once every server answers; the
returned StackInfo carries `kafka_bootstrap` and `s3_endpoint` ("127.0.0.1:PORT") and, unless
Zipkin is off, `zipkin_url` ("http://127.0.0.1:PORT": spans in, query API, UI at /zipkin/). Kafka is secured
by default (SASL_SSL + ACLs; `StackConfig(secure=False)` for plaintext): each principal's
client settings come from `StackInfo.kafka_env(principal)` (or `kafka_client_env`).
`StackConfig(brokers=3)` runs a local 3-node Kafka cluster (`StackInfo.kafka_nodes`;
`kill_broker` / `start_broker` for fault tests).
"""

from millrace_infra.config import KAFKA_VERSION, ZIPKIN_VERSION, StackConfig
from millrace_infra.errors import StackError, StackNotReady
from millrace_infra.kafka_fetch import fetch_kafka, is_fetched
from millrace_infra.stack import (
    ComponentStatus,
    kafka_client_env,
    kill_broker,
    start,
    start_broker,
    status,
    stop,
    wait_ready,
)
from millrace_infra.state import KafkaNode, StackInfo, read_state
from millrace_infra.zipkin import fetch_zipkin, zipkin_jar

__all__ = [
    "KAFKA_VERSION",
    "ZIPKIN_VERSION",
    "ComponentStatus",
    "KafkaNode",
    "StackConfig",
    "StackError",
    "StackInfo",
    "StackNotReady",
    "fetch_kafka",
    "fetch_zipkin",
    "is_fetched",
    "kafka_client_env",
    "kill_broker",
    "read_state",
    "start",
    "start_broker",
    "status",
    "stop",
    "wait_ready",
    "zipkin_jar",
]
