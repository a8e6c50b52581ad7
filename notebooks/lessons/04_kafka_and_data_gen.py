# ---
# jupyter:
#   jupytext:
#     formats: ipynb,lessons//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Kafka with kafka-python, and the simulated world
#
# **You will learn to**
#
# - create topics with partitions and send keyed records
# - explain offsets and consumer groups, and watch a group rebalance
# - see how keys spread records over partitions (and when they do not)
# - generate the four Boston 2018 streams and read their layouts
#
# **Prerequisites:** notebook 00\
# **Time:** about 20 minutes

# %%
from etl_lib.lab import START_OVER, setup

lesson = setup("04")
s = lesson.settings

# %% tags=["parameters"]
days: int = 1  # simulated days
scale: float = 0.1  # fraction of real-city rates

# %% [markdown]
# A Kafka **topic** is split into **partitions**; each partition is an ordered, append-only log, and each
# record in it has an **offset**. The producer chooses the partition from the record's **key** (a hash of it), so
# all records with the same key land in the same partition, in order.

# %% tags=["shows:key-partition"]
# runs once: sends 6 keyed records to Kafka
import json
from kafka import KafkaProducer
from etl_lib.lab import client_options  # security options of the settings (none on the local broker)

producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all", **client_options(s))
sent = []
for i, station in enumerate(["67", "22", "67", "36", "22", "67"]):
    meta = producer.send(s.kafka_topic_bike, key=station.encode(), value=json.dumps({"n": i}).encode()).get(10)
    sent.append((station, meta.partition, meta.offset))
producer.close()
sent  # (key, partition, offset): same key, same partition, offsets counting up

# %% [markdown]
# (One `.get()` per record, as above, waits a network round trip each time: fine for six records, far too
# slow for a stream. `data_gen` sends without waiting and checks failures in a callback.)
#
# A **consumer group** shares the partitions of a topic among its members and remembers, per partition, the offset
# it has processed up to (the *committed offset*). A consumer of a new group starts where `auto_offset_reset`
# says; the same group, started again, continues where it stopped.

# %% tags=["shows:committed-offsets"]
# runs once: reads the topic in two groups and commits their offsets
from kafka import KafkaConsumer

def read_all(group):
    c = KafkaConsumer(s.kafka_topic_bike, bootstrap_servers=s.kafka_bootstrap_servers, group_id=group,
                      auto_offset_reset="earliest", consumer_timeout_ms=3000, **client_options(s))
    n = sum(1 for _ in c)
    c.commit()
    c.close()
    return n

print("group A, first time: ", read_all("lesson04-A"))
print("group A, second time:", read_all("lesson04-A"))
print("group B, first time: ", read_all("lesson04-B"))

# %% [markdown]
# **Members of one group share the partitions.** Below, consumers join the group `lesson04-rebalance` one by one,
# each a `GroupMember` polling in its own thread (a member that stops polling is thrown out of the group after
# `max.poll.interval.ms`; one that closes its consumer leaves at once). `settled` waits until every partition
# has exactly one owner. Each time a member joins or leaves, the group **rebalances**: the group coordinator
# (a broker) revokes the partitions and the members divide them again, so that each partition has exactly one
# owner. With three partitions, a fourth member would get nothing: partitions are the unit of parallelism of a
# group.

# %% tags=["shows:group-rebalance"]
from etl_lib.lab import GroupMember, settled

members, history = [], []
try:
    for name in ["consumer-1", "consumer-2", "consumer-3"]:
        members.append(GroupMember(s, s.kafka_topic_bike, "lesson04-rebalance", name))
        history.append((f"{name} joined", settled(members, partitions=3)))
    members.pop(0).leave()
    history.append(("consumer-1 left", settled(members, partitions=3)))
finally:
    for m in members:
        m.leave()

for event, owned in history:
    print(f"{event:<18} partitions per member: {sorted((len(p) for p in owned.values()), reverse=True)}")

# %% [markdown]
# Which member got which partitions depends on the member ids the coordinator hands out (random), so this table
# changes from run to run; the sizes above do not.

# %% tags=["nbval-ignore-output"]
for event, owned in history:
    print(f"{event:<18}", owned)

# %% [markdown]
# **Share groups: a queue on a topic.** A consumer group keeps order by giving each partition to one member, so
# more members than partitions do not help. Kafka 4.2 made a new kind of group production-ready, the **share
# group** (KIP-932, "queues for Kafka"; Kafka 4.2 upgrade notes): once members outnumber partitions, several of
# them read the *same* partition side by side; the broker hands each record to one member at a time, under an **acquisition lock**, and the member
# acknowledges each record: *accept* (done), *release* (give it back to be delivered again) or *reject* (never
# again). The broker counts the deliveries of each record. The kit's broker is Kafka 4.4.0, where a fresh
# broker has share groups on. kafka-python speaks consumer groups only, so `run_group` drives the broker's own
# Java clients (`KafkaConsumer`, `KafkaShareConsumer`) through the kit's small tool `etlkit.QueueLab`: it writes
# 24 records (r00 ... r23, keys k0 to k3, two partitions) to a fresh topic once every member holds partitions;
# the members are uneven, as real workers are (10, 30, 50 and 70 ms per record). The same four members, first as
# a consumer group, then as a share group:

# %% tags=["shows:share-vs-consumer"]
# runs once: two groups of 4 members read a fresh 2-partition topic (about 10 s)
from etl_lib.lab import run_group

runs = {kind + " group": run_group(kind, members=4, partitions=2, work_ms=10, work_step_ms=20)
        for kind in ("consumer", "share")}
for name, run in runs.items():
    held = sorted((len(p) for p in run.assignment.values()), reverse=True)
    per_partition = [sum(p in ps for ps in run.assignment.values()) for p in range(run.partitions)]
    print(f"{name:<15} partitions per member {held}; members per partition {per_partition}; "
          f"records finished {sum(run.ends.values())} of {run.records}")

# %% [markdown]
# The consumer group left two of its four members idle; the share group gave every member a partition and every
# partition two members. Who took which record is a race between the members, so the counts below change from
# run to run; so does the order: in a share group the records of one key go to several members, and a record can
# finish before an earlier record of its key (*overtaken* counts those). A consumer group never does that. With
# all four members at work the share group usually also finishes sooner (in runs here, about 0.4 s against
# 0.7 s).

# %% tags=["nbval-ignore-output"]
for name, run in runs.items():
    print(f"{name:<15} records per member {run.records_per_member()}; members per key "
          f"{run.members_per_key()}; overtaken {run.overtaken()}; all done {run.elapsed_ms} ms after the write")

# %% [markdown]
# **What an unfinished record does.** Below, one share group meets four kinds of trouble: the member that gets
# r05 releases it once; r09 is released on every delivery (a *poison* record); r13 is rejected; and the member
# that gets r02 hangs without answering. The group's lock is 1 s here (the group config
# `share.record.lock.duration.ms`; the broker's default, `group.share.record.lock.duration.ms`, is 30 s) and its
# delivery limit is Kafka's default, 5 (`group.share.delivery.count.limit`; both defaults are in the broker's
# configuration, which Kafka prints at start). The members go on polling for 1.5 s after the last
# record ends, so a record handed out once too often would show.

# %% tags=["shows:redelivery"]
# runs once: one share group, four kinds of trouble (about 6 s)
queue = run_group("share", release={"r05"}, poison={"r09"}, reject={"r13"}, stall="r02", lock_ms=1000,
                  settle_ms=1500)
for value, what in [("r05", "released once"), ("r09", "released every time"), ("r13", "rejected"),
                    ("r02", "its member hangs")]:
    seen = queue.deliveries_of(value)
    print(f"{value} {what:<20} delivery counts {[d['delivery'] for d in seen]}, answers {[d['ack'] for d in seen]}")
hung, again = queue.deliveries_of("r02")
print("r02 taken again by another member:", hung["member"] != again["member"])
print("how the 24 records ended:", dict(sorted(queue.ends.items())))
print("records delivered more than once:", sorted({d["value"] for d in queue.redeliveries()}))

# %% [markdown]
# A released record comes back with its delivery count one higher; a record held past its lock comes back the
# same way (`none`: the hung member never answered; another member then took it). At the delivery limit the
# broker **archives** the record instead of delivering it a sixth time: it stays in the topic, but the group skips
# it, so count such records somewhere, or they are skipped without notice (Kafka 4.4 adds an optional dead-letter
# topic per share group, KIP-1191: the group config `errors.deadletterqueue.topic.name`, blank by default, meaning
# none). A rejected record is archived at once. Two more settings to know: a new share group starts at the **latest** offset
# (`share.auto.offset.reset`, default `latest` in Kafka 4.4's group configuration; `run_group` sets `earliest`),
# and what the group remembers is a start offset per partition plus the state of each record in flight after it
# (the start offset can be reset only while the group has no members).
# Use a consumer group when order per key matters (an account's events, a station's trips); a share group when
# records are independent jobs and you want more workers than partitions.

# %% [markdown]
# Now the simulated world. `data_gen` produces four streams in the field layouts of the public datasets
# (Bluebikes trips, Uber/Lyft rides, weather, Vision Zero crashes), with weather effects planted in them and an
# **answer key** saying what the analytics must find.

# %% tags=["shows:answer-key"]
from data_gen import GenParams, KafkaSink, generate
from etl_lib.lab import reset_topics

reset_topics(s, s.kafka_topics.values(), 3)
key = generate(GenParams(days=days, scale=scale),
               KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics, settings=s))
import pandas as pd
pd.DataFrame(key["counts"]).T[["produced", "valid", "quarantined", "duplicates", "late"]]

# %% tags=["shows:partition-skew"]
from etl_lib.lab import end_offsets

per_partition = pd.DataFrame(end_offsets(s, s.kafka_topics.values())).T.sort_index()
per_partition.columns = [f"partition {p}" for p in per_partition.columns]
per_partition

# %% [markdown]
# **Partition skew.** The key decides the partition, so the spread of records over partitions is the spread of
# the keys' hashes, weighted by how busy each key is. A hash spreads *many* keys evenly; the kit's topics have
# few: bike trips are keyed by station (30 stations), taxi rides by pickup place (12 places), so a few busy keys
# that happen to hash to the same partition make it much fuller than the others. Weather has a single key
# (`boston`): every record in one partition, two partitions idle, and one consumer (or one Spark task) doing all
# the work of the topic.

# %%
import matplotlib.pyplot as plt

shares = per_partition.div(per_partition.sum(axis=1), axis=0)
ax = shares.plot.bar(figsize=(7, 3.5), rot=0)
ax.axhline(1 / per_partition.shape[1], color="black", linewidth=0.8, linestyle="--", label="an even spread")
ax.set_ylabel("share of the topic's records")
ax.set_xlabel("")
ax.set_title("Records per partition: keys decide the spread")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# One record of each layout, read back from Kafka: the first valid record of the lowest-numbered
# partition that has one. (All weather records share the key `boston`, so they all sit in one partition.)

# %% tags=["shows:record-layouts"]
from kafka import TopicPartition
from etl_lib.schemas import validate_record

def first_valid(t, topic):
    c = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers, consumer_timeout_ms=3000, **client_options(s))
    try:
        for p in sorted(c.partitions_for_topic(topic)):
            c.assign([TopicPartition(topic, p)])
            c.seek_to_beginning()
            for r in c:
                if validate_record(t, r.value).ok:
                    return r
    finally:
        c.close()

for t, topic in s.kafka_topics.items():
    record = first_valid(t, topic)
    if record is None:  # a small scale can leave a rare topic (accidents) without a valid record
        print(f"--- {topic}: no valid record at this scale")
        continue
    print(f"--- {topic} (partition {record.partition}, key {record.key.decode()})")
    print(json.dumps(json.loads(record.value))[:300])

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. What decides which partition a keyed record goes to, and what does that guarantee?**
#
# <details><summary>Answer</summary>
#
# A hash of the key modulo the number of partitions. Records with the same key are in the same partition, so they are read in the order they were written. There is no order across partitions.
#
# </details>
#
# **2. What is a committed offset, and what happens when a consumer of the same group restarts?**
#
# <details><summary>Answer</summary>
#
# The position up to which the group has processed a partition. A restarted member continues from it, so it neither re-reads what was committed nor skips what was not.
#
# </details>
#
# **3. Why does `data_gen` not call `.get()` on every send?**
#
# <details><summary>Answer</summary>
#
# Each `.get()` waits for the broker's acknowledgement: one network round trip per record. Sending asynchronously lets the producer batch many records per request; failures are caught in a callback.
#
# </details>
#
# **4. What does `acks=all` buy, and what does it cost?**
#
# <details><summary>Answer</summary>
#
# The broker acknowledges only when every in-sync replica has the record. That survives a broker failure only when there are other replicas: a replication factor of at least 2 and `min.insync.replicas` of at least 2 (otherwise the in-sync set can shrink to the leader alone). On the kit's single local broker (replication factor 1) `acks=all` is the same as `acks=1`. It costs some latency per request.
#
# </details>
#
# **5. A topic has 3 partitions and its consumer group has 4 members. What does the fourth member do, and what happens when one of the others stops polling?**
#
# <details><summary>Answer</summary>
#
# It gets no partition and idles: a partition has exactly one owner in a group, so a group's parallelism is at most its topic's partition count. A member leaves the group at once when it closes; one whose process still runs but stops polling is removed after `max.poll.interval.ms` (5 minutes by default); one that crashed (no heartbeats) after `session.timeout.ms`. The coordinator then rebalances and the idle member takes over its partitions, from the offsets the group committed.
#
# </details>
#
# **6. Every weather record has the key `boston`. What does that do to the weather topic's three partitions, and when is one key for everything the right choice anyway?**
#
# <details><summary>Answer</summary>
#
# All weather records land in one partition: one consumer or one Spark task does all the topic's work and the other partitions idle (skew). It is right when order across all records matters (one partition is the only total order Kafka gives) and the volume is small, as for one weather station's observations every five minutes.
#
# </details>
#
# **7. Four members read a 2-partition topic as a share group. What does each member get, what happens to the order of one key's records, and what happens to a record a member releases every time?**
#
# <details><summary>Answer</summary>
#
# Every member holds a partition (each partition has two members) and the broker hands each record to one member at a time, so all four work. One key's records go to several members and can finish out of order: order per key is lost. A record released every time comes back with its delivery count one higher until the delivery limit (5 by default); then it is archived and never handed out again. Use a consumer group when order per key matters.
#
# </details>
#

# %%
assert [p for k, p, _ in sent if k == "67"] == [sent[0][1]] * 3, (
    f"expected the three records of key 67 in partition {sent[0][1]}, found partitions "
    f"{[p for k, p, _ in sent if k == '67']}: "
    + START_OVER)
assert [sorted(map(len, owned.values())) for _, owned in history] == [[3], [1, 2], [1, 1, 1], [1, 2]], (
    "expected partitions per member [[3], [1, 2], [1, 1, 1], [1, 2]], found "
    f"{[sorted(map(len, owned.values())) for _, owned in history]}: "
    + START_OVER)
held = {name: sorted(map(len, run.assignment.values())) for name, run in runs.items()}
assert held == {"consumer group": [0, 0, 1, 1], "share group": [1, 1, 1, 1]}, (
    f"expected two idle members in the consumer group and none in the share group, found {held}: " + START_OVER)
assert [d["delivery"] for d in queue.deliveries_of("r09")] == [1, 2, 3, 4, 5] and queue.ends["archived"] == 1, (
    "expected the poison record r09 delivered 5 times, then archived, found "
    f"{[d['delivery'] for d in queue.deliveries_of('r09')]} and {queue.ends}: " + START_OVER)
assert (per_partition.loc[s.kafka_topic_weather] > 0).sum() == 1, (
    "one key, one partition: expected the weather records in 1 partition, found them in "
    f"{(per_partition.loc[s.kafka_topic_weather] > 0).sum()}: "
    + START_OVER)
assert key["counts"]["bike"]["produced"] == key["counts"]["bike"]["valid"] + key["counts"]["bike"]["quarantined"], (
    f"expected bike trips produced = valid + quarantined, found {key['counts']['bike']}: `key` changed after "
    "the answer-key cell ran; run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
print("Same key, same partition; a group shares the partitions, a share group its records; every produced record "
      "is valid or quarantined: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - A topic is split into partitions; an offset is a record's position in its partition (→ *each partition is an ordered, append-only log*) [04#key-partition] [04#partition-skew]
# - The key chooses the partition: one key, one partition, in order; order holds only within a partition (→ *The producer chooses the partition*) [04#key-partition] [doc: Kafka 4.4 · Introduction · Main Concepts and Terminology]
# - Members of one consumer group share the partitions, one owner each, and rebalance when members come and go (→ *Members of one group share the partitions.*) [04#group-rebalance]
# - A share group's members can read the same partition and acknowledge each record; released or timed-out records come back with a higher delivery count, archived at the limit; order per key is lost (→ *Share groups: a queue on a topic.*) [04#share-vs-consumer] [04#redelivery]
# - A committed offset is where a group resumes after a restart (→ *What is a committed offset*) [04#committed-offsets]
# - One hot key makes one busy partition: partition skew (→ *Partition skew.*) [04#partition-skew]
# - `data_gen` writes four realistic streams and an answer key the analytics must recover (→ *answer key*) [04#answer-key]

# %% [markdown]
# **Further reading**
#
# - docs/kafka.md
# - docs/records.md
# - docs/answer_key.md

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 03_nightly_file_pipeline](03_nightly_file_pipeline.ipynb) | [contents](README.md) | [05_parsing_and_quarantine →](05_parsing_and_quarantine.ipynb)
