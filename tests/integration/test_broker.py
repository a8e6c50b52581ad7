"""The real local broker: start, produce N keyed messages, consume exactly N back, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from etl_lib.core.broker import LocalKafka, ensure_broker
from etl_lib.core.errors import BrokerError
from etl_lib.core.kafka import broker_answers, create_topics, ensure_topics, free_port, may_reset_topics
from etl_lib.core.node import new_cluster_id
from etl_lib.core.settings import Settings, load_settings


def _at(bootstrap: str, tmp_path) -> Settings:
    """Default settings but for the brokers (and a DATA_DIR of the test's own)."""
    return load_settings({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATA_DIR": str(tmp_path / "data")})


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _produce(bootstrap, topic, n):
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent = {}
    for i in range(n):
        key, value = f"k{i % 11}".encode(), json.dumps({"i": i}).encode()
        producer.send(topic, key=key, value=value)
        sent[i] = (key, value)
    producer.flush()
    producer.close()
    return sent


def _consume_all(bootstrap, topic, expected, timeout_ms=20000):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             group_id=f"test-{uuid.uuid4()}", consumer_timeout_ms=timeout_ms)
    got = []
    for record in consumer:
        got.append((record.key, record.value))
        if len(got) >= expected:
            break
    # A short extra poll proves nothing beyond N arrives.
    extra = consumer.poll(timeout_ms=1000)
    got += [(r.key, r.value) for recs in extra.values() for r in recs]
    consumer.close()
    return got


def test_start_produce_consume_stop(tmp_path):
    # A cluster id that begins with '-' (1 random id in 64 does): formatting must still take it as the id.
    # And the controller port from KAFKA_CONTROLLER_PORT instead of a random one.
    cid, cport = "-" + new_cluster_id()[1:], free_port()
    broker = LocalKafka(f"127.0.0.1:{free_port()}", tmp_path / "b", cluster_id=cid, controller_port=cport)
    broker.start()
    pid = broker.pid
    try:
        assert broker.owned and _alive(pid)
        assert f"cluster.id={cid}" in (tmp_path / "b" / "kraft" / "meta.properties").read_text()
        assert f"controller.quorum.bootstrap.servers=127.0.0.1:{cport}" in (tmp_path / "b" / "server.properties"
                                                                             ).read_text()
        assert broker.log_file.exists() and broker.log_file.stat().st_size > 0, "log4j binding must log"
        create_topics(_at(broker.bootstrap_servers, tmp_path), ["roundtrip"], partitions=3)
        sent = _produce(broker.bootstrap_servers, "roundtrip", 300)
        got = _consume_all(broker.bootstrap_servers, "roundtrip", 300)
        assert len(got) == 300
        assert sorted(got) == sorted(sent.values())
    finally:
        broker.stop()
    assert not _alive(pid), "no JVM left behind"
    assert not broker_answers(_at(broker.bootstrap_servers, tmp_path), timeout=1.0)


def test_running_broker_is_reused_not_restarted(kafka_broker, settings):
    with ensure_broker(settings) as again:
        assert not again.owned
        assert again.bootstrap_servers == kafka_broker.bootstrap_servers
    # Leaving the block must not stop a broker this call did not start.
    assert broker_answers(settings)


def test_kit_topics_created(settings):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        assert set(settings.kafka_topics.values()) <= set(admin.list_topics())
    finally:
        admin.close()


def test_cli_start_status_stop(tmp_path):
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}", DATA_DIR=str(tmp_path))
    run = lambda *a: subprocess.run([sys.executable, "-m", "etl_lib", "broker", *a],
                                    capture_output=True, text=True, env=env, timeout=180)
    started = run("start")
    try:
        assert started.returncode == 0, started.stderr
        assert "ready" in started.stdout and "bike-trips" in started.stdout
        status = run("status")
        assert status.returncode == 0 and "answering" in status.stdout
        pid = int((tmp_path / "kafka" / "broker.pid").read_text())
        assert _alive(pid), "a started broker outlives the CLI"
    finally:
        stopped = run("stop")
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout
    assert not _alive(pid)
    assert run("status").returncode == 1


def test_any_answering_broker_of_a_list_is_enough(settings):
    """With the first listed broker down, the list still answers (that is what clients need), and the kit
    works through it."""
    both = settings.replace(kafka_bootstrap_servers=f"127.0.0.1:{free_port()},{settings.kafka_bootstrap_servers}")
    assert broker_answers(both)
    topic = f"list-{uuid.uuid4().hex[:6]}"
    assert create_topics(both, [topic], partitions=1) == [topic]


def test_topics_get_the_replication_the_settings_ask_for(kafka_broker, settings):
    """KAFKA_MIN_INSYNC_REPLICAS becomes the topic's min.insync.replicas; a replication factor the cluster cannot
    meet is refused with the setting's name and the number of brokers, not a protocol error."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    topic = f"replicated-{uuid.uuid4().hex[:6]}"
    s = settings.replace(kafka_partitions=2, kafka_replication_factor=1, kafka_min_insync_replicas=1)
    assert ensure_topics(s, [topic]) == [topic]
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {e[0]: e[1] for e in described[0].resources[0][4]}
        partitions = admin.describe_topics([topic])[0]["partitions"]
    finally:
        admin.close()
    assert entries["min.insync.replicas"] == "1" and len(partitions) == 2
    assert all(len(p["replicas"]) == 1 for p in partitions)

    with pytest.raises(BrokerError) as err:
        ensure_topics(s.replace(kafka_replication_factor=3), [f"three-{uuid.uuid4().hex[:6]}"])
    assert "KAFKA_REPLICATION_FACTOR=3" in str(err.value) and "1 broker(s)" in str(err.value)


def test_topics_are_reset_only_on_this_machine_or_when_the_run_started_the_broker(settings, tmp_path):
    class Started:
        owned = True

    remote = settings.replace(kafka_bootstrap_servers="kafka-1.example.org:9092", data_dir=tmp_path)
    assert not may_reset_topics(remote), "a cluster the user pointed the kit at"
    assert may_reset_topics(remote, Started()), "a broker this run started"
    assert may_reset_topics(settings.replace(data_dir=tmp_path)), "a broker on this machine (the kit's, compose's)"
    assert not may_reset_topics(remote.replace(kafka_bootstrap_servers=f"127.0.0.1:9092,{remote.kafka_bootstrap_servers}"))
