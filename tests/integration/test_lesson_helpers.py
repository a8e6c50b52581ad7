"""The helpers lessons call instead of writing their own: keyed JSON records, a scratch query run once, groups."""

from __future__ import annotations

import pytest

from etl_lib.core.kafka import consumer_groups, create_topics, end_offsets
from etl_lib.lab.groups import GroupMember, settled
from etl_lib.lab.notebook import send_json
from etl_lib.spark import read_kafka_batch, read_kafka_stream
from etl_lib.writers import run_once


@pytest.mark.timeout(180)
def test_send_json_keys_choose_partitions_and_run_once_continues_from_its_checkpoint(spark, settings):
    topic = "helpers-run-once"
    create_topics(settings, [topic], partitions=3)
    send_json(settings.kafka_bootstrap_servers, topic, [{"n": i} for i in range(12)], settings,
              keys=["a", "b", "c"] * 4)
    rows = read_kafka_batch(spark, topic, settings).selectExpr("CAST(key AS STRING) k", "partition").collect()
    # one key, one partition: each key's four records sit together
    assert {k: len({r.partition for r in rows if r.k == k}) for k in "abc"} == {"a": 1, "b": 1, "c": 1}

    def run() -> int:
        raw = read_kafka_stream(spark, topic, settings, starting_offsets="earliest")
        query = run_once(raw.selectExpr("CAST(value AS STRING) AS value"), "helpers_run_once", settings)
        assert not query.isActive
        return sum(p["numInputRows"] for p in query.recentProgress)

    assert run() == 12
    send_json(settings.kafka_bootstrap_servers, topic, [{"n": 12}, {"n": 13}], settings)
    assert run() == 2  # the same folder: the checkpoint remembers the offsets already written
    assert spark.read.parquet(str(settings.data_dir / "helpers_run_once")).count() == 14
    assert (settings.data_dir / "checkpoints" / "helpers_run_once" / "commits").is_dir()


@pytest.mark.timeout(180)
def test_group_members_share_the_partitions_and_rebalance_when_one_leaves(settings):
    topic, group = "helpers-groups", "helpers-share"
    create_topics(settings, [topic], partitions=3)
    send_json(settings.kafka_bootstrap_servers, topic, [{"n": i} for i in range(6)], settings)
    assert sum(end_offsets(settings, [topic])[topic].values()) == 6
    members = [GroupMember(settings, topic, group, f"m{i}") for i in (1, 2)]
    try:
        two = settled(members, partitions=3)
        assert sorted(len(p) for p in two.values()) == [1, 2]
        assert group in consumer_groups(settings)
        members.pop(0).leave()
        one = settled(members, partitions=3)
        assert one == {"m2": [0, 1, 2]}
    finally:
        for m in members:
            m.leave()
