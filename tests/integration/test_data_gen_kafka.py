"""data_gen into the real broker: every produced record can be consumed back, per topic, through either producer."""

from __future__ import annotations

import uuid

import pytest

from data_gen import GenParams, JavaKafkaSink, KafkaSink, Simulation, SinkError, generate
from data_gen.records import TOPICS
from etl_lib.core.kafka import create_topics


def test_kafka_replay_delivers_exactly_what_was_produced(settings):
    from kafka import KafkaConsumer, TopicPartition

    suffix = uuid.uuid4().hex[:6]
    topics = {t: f"dg-{t}-{suffix}" for t in TOPICS}
    create_topics(settings, topics.values(), partitions=3)
    key = generate(GenParams(days=1, scale=0.2, seed=3), KafkaSink(settings.kafka_bootstrap_servers, topics))
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        for t in TOPICS:
            parts = [TopicPartition(topics[t], p) for p in sorted(consumer.partitions_for_topic(topics[t]))]
            ends = consumer.end_offsets(parts)
            assert sum(ends.values()) == key["counts"][t]["produced"], t
        # Read one topic back fully: same bytes, same keys, same count.
        parts = [TopicPartition(topics["weather"], p) for p in range(3)]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        got = []
        while len(got) < key["counts"]["weather"]["produced"]:
            for records in consumer.poll(timeout_ms=2000).values():
                got.extend(records)
        assert {r.key for r in got} == {b"boston"}
        assert len(got) == key["counts"]["weather"]["produced"]
    finally:
        consumer.close()


def _per_partition(bootstrap: str, topic: str) -> dict[int, list[tuple[bytes, bytes]]]:
    """Every record of ``topic`` as (key, value) in log order, per partition."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = consumer.end_offsets(parts)
        consumer.assign(parts)
        consumer.seek_to_beginning()
        got: dict[int, list[tuple[bytes, bytes]]] = {tp.partition: [] for tp in parts}
        while sum(len(v) for v in got.values()) < sum(ends.values()):
            for tp, records in consumer.poll(timeout_ms=2000).items():
                got[tp.partition].extend((r.key, r.value) for r in records)
        return got
    finally:
        consumer.close()


def test_java_producer_writes_the_same_records_to_the_same_partitions(settings):
    """The fast path (Kafka's Java producer in a second process) against kafka-python: same world, same seed,
    so every partition of every topic must hold the same keys and bytes in the same order."""
    suffix = uuid.uuid4().hex[:6]
    by_python = {t: f"py-{t}-{suffix}" for t in TOPICS}
    by_java = {t: f"java-{t}-{suffix}" for t in TOPICS}
    bootstrap = settings.kafka_bootstrap_servers
    create_topics(settings, [*by_python.values(), *by_java.values()], partitions=3)
    params = GenParams(days=1, scale=0.1, seed=11)
    key_python = generate(params, KafkaSink(bootstrap, by_python))
    key_java = generate(params, JavaKafkaSink(bootstrap, by_java))
    assert key_java == key_python
    for t in TOPICS:
        python_side, java_side = _per_partition(bootstrap, by_python[t]), _per_partition(bootstrap, by_java[t])
        assert sum(len(v) for v in java_side.values()) == key_java["counts"][t]["produced"] > 0, t
        assert java_side == python_side, f"{t}: the Java producer placed or wrote records differently"
    # Bike trips are keyed by station and spread over every partition: the partitioner was really exercised.
    assert all(_per_partition(bootstrap, by_java["bike"]).values())


def test_java_producer_that_dies_is_reported_not_ignored(settings):
    suffix = uuid.uuid4().hex[:6]
    topics = {t: f"dead-{t}-{suffix}" for t in TOPICS}
    create_topics(settings, topics.values(), partitions=1)
    sink = JavaKafkaSink(settings.kafka_bootstrap_servers, topics)
    sink._proc.kill()
    sink._proc.wait()
    deliveries = Simulation(GenParams(days=1, scale=0.05, seed=1)).deliveries()
    with pytest.raises(SinkError, match="Java producer"):
        for d in deliveries:  # the pipe breaks once its buffer is full, or close finds no report
            sink.send(d)
        sink.close()


def test_java_producer_needs_a_broker(settings):
    from etl_lib.core.kafka import free_port

    with pytest.raises(SinkError, match="No Kafka broker answers at 127.0.0.1:.*python -m etl_lib broker start"):
        JavaKafkaSink(f"127.0.0.1:{free_port()}", {t: t for t in TOPICS})


@pytest.mark.parametrize("paced", [False, True], ids=["as-fast-as-possible", "paced"])
def test_command_line_sends_through_the_java_producer(settings, tmp_path, paced):
    """`python -m data_gen --to kafka` (Java producer by default); paced, each frame leaves when it is due."""
    import json
    import os
    import subprocess
    import sys

    from etl_lib.core.kafka import end_offsets

    suffix = uuid.uuid4().hex[:6]
    env = {**os.environ, **settings.as_env(), **{f"KAFKA_TOPIC_{t.upper()}": f"cli-{t}-{suffix}" for t in TOPICS}}
    key_path = tmp_path / "key.json"
    cmd = [sys.executable, "-m", "data_gen", "--days", "1", "--scale", "0.05", "--seed", "4", "--no-progress",
           "--answer-key", str(key_path)] + (["--speedup", str(86400 / 3)] if paced else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    key = json.loads(key_path.read_text())
    names = [f"cli-{t}-{suffix}" for t in TOPICS]
    ends = end_offsets(settings, names)
    assert [sum(ends[n].values()) for n in names] == [key["counts"][t]["produced"] for t in TOPICS]


def test_paced_java_producer_sends_each_record_when_it_is_due(settings):
    """With flush_each (a live replay) a record reaches the broker while the sink is still open, not at close."""
    import time

    from etl_lib.core.kafka import end_offsets

    suffix = uuid.uuid4().hex[:6]
    topics = {t: f"live-{t}-{suffix}" for t in TOPICS}
    create_topics(settings, topics.values(), partitions=1)
    sink = JavaKafkaSink(settings.kafka_bootstrap_servers, topics, flush_each=True)
    try:
        first = next(d for d in Simulation(GenParams(days=1, scale=0.05, seed=1)).deliveries() if d.topic == "weather")
        sink.send(first)
        deadline = time.monotonic() + 30
        while sum(end_offsets(settings, [topics["weather"]])[topics["weather"]].values()) < 1:
            assert time.monotonic() < deadline, "the record waited in a buffer instead of leaving when it was due"
            time.sleep(0.2)
    finally:
        sink.close()
