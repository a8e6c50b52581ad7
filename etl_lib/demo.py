"""``make demo``: the kit's main job, end to end on a local broker.

For now a smoke run of the two halves of the stack: kafka-python produces a few
hundred keyed messages, Spark's Kafka source reads them back, and the counts are
compared.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import _jvm
from .config import ConfigError, get_settings
from .kafka_local import BrokerError, ensure_broker


def produce_smoke_messages(bootstrap: str, topic: str, n: int) -> dict[str, int]:
    """Send ``n`` JSON messages keyed by station; returns messages per key."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        key_serializer=str.encode,
        value_serializer=lambda v: json.dumps(v, separators=(",", ":")).encode(),
        linger_ms=20,
    )
    per_key: dict[str, int] = {}
    try:
        for i in range(n):
            key = f"station-{i % 7}"
            producer.send(topic, key=key, value={"seq": i, "station": key})
            per_key[key] = per_key.get(key, 0) + 1
        producer.flush()
    finally:
        producer.close()
    return per_key


def run_smoke(n: int = 500) -> int:
    settings = get_settings()
    topic = "smoke-test"
    with ensure_broker(settings) as broker:
        origin = "started for this run" if broker.owned else "already running"
        print(f"Kafka broker at {settings.kafka_bootstrap_servers} ({origin})")
        from .kafka_local import create_topics

        create_topics(settings.kafka_bootstrap_servers, [topic], partitions=3)
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        before = sum(consumer.end_offsets(parts).values())
        consumer.close()

        sent = produce_smoke_messages(settings.kafka_bootstrap_servers, topic, n)
        print(f"Produced {n} keyed messages to '{topic}' with kafka-python")

        from .spark import create_spark_session, read_kafka_batch

        t0 = time.monotonic()
        spark = create_spark_session(settings, app_name="etl-kit smoke")
        try:
            df = read_kafka_batch(spark, topic, settings).where(f"offset >= 0")
            rows = (
                df.selectExpr("CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value", "partition", "offset")
                .collect()
            )
        finally:
            spark.stop()
        print(f"Spark session and Kafka read took {time.monotonic() - t0:.1f} s")
        got = len(rows)
        new = got - before
        per_key = {}
        for r in rows:
            per_key[r.key] = per_key.get(r.key, 0) + 1
        print(f"Spark read {got} messages from '{topic}' ({new} new in this run, {before} from earlier runs)")
        ok = new == n
        print(f"Smoke result: produced={n} read_back={new} -> {'OK' if ok else 'MISMATCH'}")
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500, help="messages to produce (default 500)")
    args = parser.parse_args(argv)
    try:
        return run_smoke(args.messages)
    except ConfigError as err:
        print(f"Configuration error:\n{err}", file=sys.stderr)
    except (BrokerError, _jvm.JavaError, _jvm.JarsMissingError) as err:
        print(f"Error: {err}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
