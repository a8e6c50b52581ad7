"""data_gen as a Spark streaming source written in Python (data_gen.spark_source) against the same world sent
through Kafka: the kit's parsers keep and reject the same records, and a query stopped half way resumes from its
checkpoint to the same total."""

from __future__ import annotations

import uuid

import pytest

from data_gen import GenParams, KafkaSink, generate
from data_gen.records import TOPICS
from data_gen.spark_source import register
from etl_lib import parsing
from etl_lib.core.kafka import create_topics
from etl_lib.spark import read_kafka_batch

pytestmark = pytest.mark.timeout(600)
WORLD = {"days": 1, "scale": 0.1, "seed": 11}


def _stream_counts(spark, kind, settings, checkpoint, limit=None) -> tuple[int, int, int]:
    """(valid, rejected, micro-batches) from the datagen source, available-now, both counted from one parse."""
    register(spark)
    reader = spark.readStream.format("datagen").option("kind", kind)
    for name, value in WORLD.items():
        reader = reader.option(name, value)
    if limit is not None:
        reader = reader.option("maxRecordsPerBatch", limit)
    checked = parsing.with_reasons(reader.load(), kind, settings)
    counts: list[tuple[int, int]] = []

    def count(df, batch_id):
        rows = df.groupBy(df["reason"].isNull().alias("valid")).count().collect()
        found = {r["valid"]: r["count"] for r in rows}
        counts.append((found.get(True, 0), found.get(False, 0)))

    query = (checked.writeStream.foreachBatch(count).trigger(availableNow=True)
             .option("checkpointLocation", str(checkpoint)).start())
    query.awaitTermination(300)
    assert query.exception() is None
    return sum(v for v, _ in counts), sum(r for _, r in counts), len(counts)


def test_the_python_source_and_kafka_give_the_same_raw_counts(spark, settings, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    topics = {t: f"dgsrc-{t}-{suffix}" for t in TOPICS}
    create_topics(settings, topics.values(), partitions=3)
    generate(GenParams(**WORLD), KafkaSink(settings.kafka_bootstrap_servers, topics))
    totals = {}
    for kind in TOPICS:
        from_kafka = parsing.with_reasons(read_kafka_batch(spark, topics[kind], settings), kind, settings)
        kafka_valid = from_kafka.where("reason is null").count()
        kafka_rejected = from_kafka.where("reason is not null").count()
        valid, rejected, _ = _stream_counts(spark, kind, settings, tmp_path / f"ck-{kind}")
        assert (valid, rejected) == (kafka_valid, kafka_rejected), kind
        totals[kind] = valid + rejected
    assert totals["bike"] > 0 and totals["taxi"] > 0 and totals["weather"] > 0, totals


def test_a_read_limit_splits_the_world_and_a_restart_resumes(spark, settings, tmp_path):
    whole, _, _ = _stream_counts(spark, "taxi", settings, tmp_path / "whole")
    valid, _, batches = _stream_counts(spark, "taxi", settings, tmp_path / "limited", limit=100)
    assert valid == whole and batches > 1, "maxRecordsPerBatch is a read limit: more batches, the same rows"
    again, _, more = _stream_counts(spark, "taxi", settings, tmp_path / "limited", limit=100)
    assert (again, more) == (0, 0), "the checkpoint holds the offsets: a restart reads nothing twice"


def test_bad_options_are_named(spark, tmp_path):
    register(spark)
    with pytest.raises(Exception, match="option kind = one of bike, taxi, weather, accidents"):
        spark.readStream.format("datagen").option("kind", "bikes").load().writeStream.format("noop").option(
            "checkpointLocation", str(tmp_path / "bad")).trigger(availableNow=True).start().awaitTermination(60)
