"""data_gen into the real broker: every produced record can be consumed back, per topic."""

from __future__ import annotations

import uuid

from data_gen import GenParams, KafkaSink, generate
from data_gen.records import TOPICS
from etl_lib.kafka_local import create_topics


def test_kafka_replay_delivers_exactly_what_was_produced(settings):
    from kafka import KafkaConsumer, TopicPartition

    suffix = uuid.uuid4().hex[:6]
    topics = {t: f"dg-{t}-{suffix}" for t in TOPICS}
    create_topics(settings.kafka_bootstrap_servers, topics.values(), partitions=3)
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
