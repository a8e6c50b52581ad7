"""Lesson 04: ``records_per_partition``, records each partition holds, from its offsets."""

from __future__ import annotations

from ..grader import exercise, plain
from ._common import Case, Context, expect, shown


@exercise("records_per_partition", "04", "Records each partition holds, from its offsets",
          ["kafka-basics", "kafka-source"], needs="kafka", requirements={
              "count": "number of records it holds now",
              "all-partitions": "for every partition of `topic`",
              "retention": "retention may have deleted a partition's oldest records"})
def cases(ctx: Context) -> list[Case]:
    def case(counts: dict[int, int], deleted: dict[int, int], hint: str, need: str):
        def observe(fn):
            from kafka import KafkaProducer
            from kafka.structs import TopicPartition

            from ...core.kafka import _admin, client_options

            topic = ctx.new_topic("offsets", partitions=len(counts))
            producer = KafkaProducer(bootstrap_servers=ctx.bootstrap(), acks="all", **client_options(ctx.settings))
            for p, n in counts.items():
                for _ in range(n):
                    producer.send(topic, value=b"x", partition=p)
            producer.flush()
            producer.close()
            if deleted:
                admin = _admin(ctx.settings)  # its broker is running: ctx.bootstrap() started it above
                try:
                    admin.delete_records({TopicPartition(topic, p): n for p, n in deleted.items()})
                finally:
                    admin.close()
            return plain(fn(ctx.bootstrap(), topic))

        def judge(got):
            want = {p: counts[p] - deleted.get(p, 0) for p in counts}
            expect(isinstance(got, dict) and {int(k): v for k, v in got.items()} == want,
                   f"returned {shown(got)}, expected {want}")
        shown_as = f"records sent per partition {counts}" + (f", then the first {deleted} deleted (retention)"
                                                              if deleted else "")
        return Case(shown_as, observe, judge, hint, sum(counts.values()) + 1000 * bool(deleted), need)

    return [
        case({0: 3, 1: 2}, {}, "ask the broker for each partition's offsets (KafkaConsumer.beginning_offsets / "
             "end_offsets): the number of records it holds, instead of reading every record", "count"),
        case({0: 3, 1: 0, 2: 5}, {}, "every partition of the topic has an entry, an empty one too: list them with "
             "partitions_for_topic", "all-partitions"),
        case({0: 10, 1: 4}, {0: 6}, "a partition holds end offset - beginning offset records: offsets start at 0 "
             "only until retention deletes old records", "retention"),
    ]
