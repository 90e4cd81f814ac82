"""What a local Kafka cluster (`--brokers 3`) is made of: ports, node folders, each node's
properties, the state file, and the replication its topics get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from millrace_contracts.topics import Replication, replication_for
from millrace_infra.components import components
from millrace_infra.config import MAX_BROKERS, PORT_SPAN, StackConfig
from millrace_infra.errors import StackError
from millrace_infra.kafka import CLUSTER_FILE, cluster_identity, server_properties
from millrace_infra.state import StackInfo, read_state, write_state
from millrace_shared.messaging.broker import topic_replication
from millrace_shared.settings import MillraceSettings


def _props(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _cluster(tmp_path: Path, **overrides: object) -> StackConfig:
    return StackConfig.from_base_port(29092, home=tmp_path, **({"brokers": 3} | overrides))


@pytest.mark.parametrize(
    ("brokers", "factor", "min_insync"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)]
)
def test_replication_follows_the_cluster_size(brokers: int, factor: int, min_insync: int) -> None:
    assert replication_for(brokers) == Replication(factor, min_insync)


def test_replication_needs_a_broker() -> None:
    with pytest.raises(ValueError, match="at least one broker"):
        replication_for(0)


def test_services_replicate_from_the_cluster_unless_told() -> None:
    settings = MillraceSettings()
    assert topic_replication(settings, 3) == Replication(3, 2)
    assert topic_replication(settings, 1) == Replication(1, 1)
    fixed = MillraceSettings(kafka_replication_factor=2)
    assert topic_replication(fixed, 3) == Replication(2, 1)
    both = MillraceSettings(kafka_replication_factor=3, kafka_min_insync_replicas=3)
    assert topic_replication(both, 3) == Replication(3, 3)


def test_cluster_nodes_take_ports_after_the_rest_of_the_stack(tmp_path: Path) -> None:
    config = _cluster(tmp_path)
    assert [config.node_ports(n) for n in config.node_ids()] == [
        (29092, 29093),
        (29107, 29108),
        (29109, 29110),
    ]
    config.validate()
    largest = StackConfig.from_base_port(29092, brokers=MAX_BROKERS)
    largest.validate()  # no port used twice
    assert max(largest.kafka_ports()) < 29092 + PORT_SPAN


def test_a_single_broker_keeps_its_two_ports(tmp_path: Path) -> None:
    config = StackConfig.from_base_port(29092, home=tmp_path)
    assert config.kafka_ports() == (29092, 29093)
    assert [c.name for c in components(config) if c.name.startswith("kafka")] == ["kafka"]


def test_too_many_brokers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="brokers"):
        _cluster(tmp_path, brokers=MAX_BROKERS + 1).validate()


def test_each_node_has_its_folder_and_a_component(tmp_path: Path) -> None:
    kafka = [c for c in components(_cluster(tmp_path)) if c.name.startswith("kafka")]
    assert [c.name for c in kafka] == ["kafka", "kafka-2", "kafka-3"]
    assert [c.folder for c in kafka] == [
        tmp_path / "kafka",
        tmp_path / "kafka-2",
        tmp_path / "kafka-3",
    ]
    assert [c.port for c in kafka] == [29092, 29107, 29109]


def test_each_node_knows_every_voter_and_replicates_three_times(tmp_path: Path) -> None:
    config = _cluster(tmp_path)
    props = _props(server_properties(config, admin_password="s3cret", node_id=2))
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:29093,2@127.0.0.1:29108,3@127.0.0.1:29110"
    )
    assert props["listeners"] == "SASL_SSL://127.0.0.1:29107,CONTROLLER://127.0.0.1:29108"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:29107"
    assert props["log.dirs"] == str(tmp_path / "kafka-2" / "data")
    # The same TLS material and super user as node 1.
    assert props["ssl.keystore.location"] == str(tmp_path / "kafka/tls/kafka-server.pem")
    assert props["super.users"] == "User:millrace-admin;User:ANONYMOUS"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"


def test_a_single_node_replicates_once(tmp_path: Path) -> None:
    props = _props(
        server_properties(StackConfig.from_base_port(29092, home=tmp_path, secure=False))
    )
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"


def test_stack_info_lists_every_broker(tmp_path: Path) -> None:
    info = StackInfo.for_config(_cluster(tmp_path))
    assert info.kafka_bootstrap == "127.0.0.1:29092,127.0.0.1:29107,127.0.0.1:29109"
    assert [n.component for n in info.kafka_nodes] == ["kafka", "kafka-2", "kafka-3"]
    assert info.kafka_nodes[2].pid_file == tmp_path / "kafka-3" / "kafka.pid"


def test_the_state_file_remembers_the_cluster(tmp_path: Path) -> None:
    config = _cluster(tmp_path, zipkin=False)
    write_state(config, {"kafka": 1, "kafka-2": 2, "kafka-3": 3})
    assert read_state(tmp_path) == config
    payload = json.loads((tmp_path / "stack.json").read_text())
    assert [n["node_id"] for n in payload["kafka_nodes"]] == [1, 2, 3]


def test_an_older_state_file_is_a_single_broker(tmp_path: Path) -> None:
    config = StackConfig.from_base_port(29092, home=tmp_path, zipkin=False)
    write_state(config, {"kafka": 1})
    payload = json.loads((tmp_path / "stack.json").read_text())
    del payload["brokers"], payload["ports"]["cluster_port_base"]
    (tmp_path / "stack.json").write_text(json.dumps(payload))
    assert read_state(tmp_path) == config


def test_every_node_shares_one_cluster_id(tmp_path: Path) -> None:
    config = _cluster(tmp_path)
    first = cluster_identity(config)
    assert cluster_identity(config) == first
    recorded = json.loads((tmp_path / "kafka" / CLUSTER_FILE).read_text())
    assert recorded == {"cluster_id": first, "brokers": 3}


def test_a_formatted_home_keeps_its_node_count(tmp_path: Path) -> None:
    config = _cluster(tmp_path)
    cluster_identity(config)
    (tmp_path / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "meta.properties").write_text("cluster.id=x\n")
    single = StackConfig.from_base_port(29092, home=tmp_path)
    with pytest.raises(StackError, match="3-node cluster"):
        cluster_identity(single)


def test_a_single_node_home_formatted_before_clusters_is_not_made_a_cluster(
    tmp_path: Path,
) -> None:
    (tmp_path / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "meta.properties").write_text("cluster.id=x\n")
    with pytest.raises(StackError, match="1-node cluster"):
        cluster_identity(_cluster(tmp_path))
