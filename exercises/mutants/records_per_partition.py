"""Wrong answers to exercise 04 `records_per_partition`, one requirement broken in each."""

from kafka import KafkaConsumer
from kafka.structs import TopicPartition


def _offsets(bootstrap, topic):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return parts, consumer.beginning_offsets(parts), consumer.end_offsets(parts)
    finally:
        consumer.close()


def end_offsets_only(bootstrap, topic):
    """Breaks "retention": the end offset, as if offsets always started at 0."""
    parts, _, end = _offsets(bootstrap, topic)
    return {tp.partition: end[tp] for tp in parts}


def non_empty_only(bootstrap, topic):
    """Breaks "all-partitions": leaves out the partitions that hold nothing."""
    parts, first, end = _offsets(bootstrap, topic)
    return {tp.partition: end[tp] - first[tp] for tp in parts if end[tp] > first[tp]}


def last_offset(bootstrap, topic):
    """Breaks "count": the offset of the last record (end - 1), not the number of records."""
    parts, first, end = _offsets(bootstrap, topic)
    return {tp.partition: max(0, end[tp] - first[tp] - 1) for tp in parts}


MUTANTS = [("retention", end_offsets_only), ("all-partitions", non_empty_only), ("count", last_offset)]
