# %% [markdown]
# # Exercises 04 · Kafka
#
# Practice for [notebook 04](../notebooks/04_kafka_and_data_gen.ipynb). The checks of exercises 1 and 2 use the
# real local broker (started if none answers at `KAFKA_BOOTSTRAP_SERVERS`), each case on a topic of its own;
# exercise 3 needs no broker. Write your code in the cells marked ✏️, then run the check cell below each.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `send_keyed`: keep each station's trips in order
#
# Send every trip (a dict) to `topic` as JSON, so that all trips of one start station land in the same partition
# in the order given. Use kafka-python's `KafkaProducer`; make sure every record is written before the function
# returns.

# %% tags=["exercise"]
# ✏️ your code
def send_keyed(bootstrap: str, topic: str, trips: list[dict]) -> None:
    ### BEGIN SOLUTION
    import json

    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for trip in trips:
        producer.send(topic, key=str(trip["start_station_id"]).encode(), value=json.dumps(trip).encode())
    producer.flush()
    producer.close()
    ### END SOLUTION


# %%
check("send_keyed", send_keyed)

# %% [markdown]
# ## 2. `records_per_partition`: counting without reading
#
# Return `{partition: number of records it holds now}` for every partition of `topic`, from the broker's offsets,
# without consuming the records. Careful: retention may have deleted a partition's oldest records.

# %% tags=["exercise"]
# ✏️ your code
def records_per_partition(bootstrap: str, topic: str) -> dict[int, int]:
    ### BEGIN SOLUTION
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        first, end = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
        return {tp.partition: end[tp] - first[tp] for tp in parts}
    finally:
        consumer.close()
    ### END SOLUTION


# %%
check("records_per_partition", records_per_partition)


# %% [markdown]
# ## 3. `share_partition`: the records of a share group
#
# In a share group (KIP-932, "queues for Kafka") consumers share the records of a partition: the broker hands each
# record to one consumer at a time and keeps, for each record, a state and a delivery count. Simulate one
# share-partition.
#
# Its records are the offsets `0` to `n_records - 1`, each `available` with delivery count 0 at first. Apply
# `events`, a list of `(kind, offset)`, in order:
#
# - `acquire`: only an `available` record can be acquired; it becomes `acquired` and its delivery count goes up by
#   1 (the broker counts a delivery when it hands the record out).
# - `accept` makes an acquired record `acknowledged`; `reject` makes it `archived` (never delivered again).
# - `release` gives an acquired record back: `available` again, its delivery count kept, unless that count has
#   reached `delivery_limit`: then it is `archived`. `timeout` (its acquisition lock expired before the consumer
#   acknowledged or released it) does exactly what `release` does.
# - `renew` (`AcknowledgeType.RENEW`: the consumer asks for more time) keeps an acquired record `acquired`, its
#   delivery count unchanged.
# - An `acquire` of a record that is not `available`, or any other event on a record that is not `acquired`,
#   changes nothing (the broker does not hand the record out, or answers with an error).
#
# Return `{"states": {offset: state}, "deliveries": {offset: delivery count}, "start": start}`, each state one of
# the four strings above, and `start` the share-partition start offset: the lowest offset whose state is neither
# `acknowledged` nor `archived` (`n_records` when every record is one of those).

# %% tags=["exercise"]
# ✏️ your code
def share_partition(n_records: int, events: list[tuple[str, int]], delivery_limit: int = 5) -> dict:
    ### BEGIN SOLUTION
    states = {offset: "available" for offset in range(n_records)}
    deliveries = {offset: 0 for offset in range(n_records)}
    for kind, offset in events:
        if kind == "acquire":
            if states[offset] == "available":
                states[offset] = "acquired"
                deliveries[offset] += 1
        elif states[offset] != "acquired":
            continue  # an answer for a record not acquired: refused, nothing changes
        elif kind == "accept":
            states[offset] = "acknowledged"
        elif kind == "reject":
            states[offset] = "archived"
        elif kind in ("release", "timeout"):
            states[offset] = "archived" if deliveries[offset] >= delivery_limit else "available"
        # renew: still acquired, no new delivery
    start = next((offset for offset in range(n_records) if states[offset] not in ("acknowledged", "archived")),
                 n_records)
    return {"states": states, "deliveries": deliveries, "start": start}
    ### END SOLUTION


# %%
check("share_partition", share_partition)
