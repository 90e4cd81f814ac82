"""Every Kafka client, aiokafka's or FastStream's, connects with the same options."""

from __future__ import annotations

from typing import Any

import pytest
from faststream.kafka.security import parse_security
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import kafka_security, make_broker
from millrace_shared.settings import MillraceSettings


def test_plaintext_is_the_brokers_only() -> None:
    settings = MillraceSettings(kafka_bootstrap="k:9092", service_name="ingestion")
    assert kafka_options(settings) == {
        "bootstrap_servers": ["k:9092"],
        "security_protocol": "PLAINTEXT",
        "client_id": "millrace-ingestion",
    }
    assert kafka_security(settings) is None


@pytest.mark.parametrize("protocol", ["SSL", "SASL_PLAINTEXT", "SASL_SSL"])
def test_faststream_gets_what_aiokafka_gets(protocol: str) -> None:
    sasl = protocol.startswith("SASL")
    settings = MillraceSettings.model_validate(
        {
            "kafka_security_protocol": protocol,
            "kafka_sasl_mechanism": "SCRAM-SHA-512" if sasl else None,
            "kafka_sasl_username": "millrace-training" if sasl else None,
            "kafka_sasl_password": "s3cret" if sasl else None,
        }
    )
    options = kafka_options(settings)
    assert ("ssl_context" in options) == ("SSL" in protocol)
    assert options.get("sasl_plain_password") == ("s3cret" if sasl else None)
    faststream = parse_security(kafka_security(settings))

    def comparable(given: dict[str, Any]) -> dict[str, Any]:
        # A fresh TLS context per call: equal when built alike, compared by type.
        return {k: type(v) if k == "ssl_context" else v for k, v in given.items() if v is not None}

    assert comparable(faststream) == comparable(
        {k: v for k, v in options.items() if k not in {"bootstrap_servers", "client_id"}}
    )


def test_a_clusters_brokers_reach_every_client_one_by_one() -> None:
    # FastStream takes a string as one server: "a,b,c" must not reach aiokafka as one host.
    settings = MillraceSettings(kafka_bootstrap="k1:9092, k2:9093,k3:9094", service_name="x")
    brokers = ["k1:9092", "k2:9093", "k3:9094"]
    assert kafka_options(settings)["bootstrap_servers"] == brokers
    broker, _ = make_broker(settings)
    assert broker._connection_kwargs["bootstrap_servers"] == brokers
