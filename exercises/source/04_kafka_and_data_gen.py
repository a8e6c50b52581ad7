# %% [markdown]
# # Exercises 04 · Kafka
#
# Practice for [notebook 04](../notebooks/04_kafka_and_data_gen.ipynb). These checks use the real local broker
# (started if none answers at `KAFKA_BOOTSTRAP_SERVERS`), each case on a topic of its own. Write your code in the
# cells marked ✏️, then run the check cell below each.

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
