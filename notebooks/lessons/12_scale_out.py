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
# # 12 · Scale out: a replicated Kafka cluster and a Spark standalone cluster
#
# **You will learn to**
#
# - read a topic's partitions, replicas, leaders and in-sync replicas (ISR)
# - predict what a producer with `acks=1` or `acks=all` gets when a broker dies, given `min.insync.replicas`
# - tell the Spark driver, the executors and their tasks apart on a standalone master
# - explain how executors get the Kafka connector jars, and run the same ETL code on a cluster
#
# **Prerequisites:** notebooks 04 (topics, partitions, offsets) and 09 (the orchestrator)\
# **Time:** about 25 minutes (starting the practice cluster takes about 40 seconds)

# %%
from etl_lib.lab import setup

lesson = setup("12", kafka=False)

# %% tags=["parameters"]
records: int = 200  # records each producer experiment sends
days: int = 1  # simulated days the ETL processes on the cluster
scale: float = 0.05  # share of Boston's 2018 traffic

# %% [markdown]
# ## The practice cluster
#
# Until now one Kafka broker and Spark's local mode (`local[4]`) did everything in one JVM each. A real deployment spreads
# both over machines. `python -m etl_lib cluster up` (`make cluster-up`) builds the same shape on this machine:
#
# - **three Kafka nodes**, each a broker and a KRaft controller. The three controllers keep the cluster's metadata
#   (which topics exist, who leads each partition) by majority vote, so the cluster survives one node down;
# - **a Spark standalone master and two workers**, started with pyspark's own `spark-class`. The master only hands
#   out resources; each worker runs one **executor** (one core, 1 GiB here) for an application, and the executors
#   run the **tasks**. The **driver** is this notebook's Python process and its JVM: it plans the queries and sends
#   tasks to the executors.
#
# The cell below starts all six JVMs (stopping anything an earlier run left) and makes sure they stop when this
# kernel ends, even if it is restarted or killed before the last cell.

# %%
from etl_lib.lab import Cluster

cluster = Cluster.of(lesson.settings)
cluster.up(fresh=True)
cluster.stop_when_gone()  # a watcher process stops the cluster when this kernel's process ends
s = lesson.settings.replace(kafka_bootstrap_servers=cluster.bootstrap_servers, spark_master=cluster.spark_master,
                            kafka_replication_factor=3, kafka_min_insync_replicas=2)
print(f"{cluster.brokers()} Kafka brokers (each also a controller); a Spark master with {cluster.workers()} workers")

# %% [markdown]
# ## Partitions, replicas, leaders, ISR
#
# A topic's partition is stored on `replication.factor` brokers. One replica is the **leader**: producers write to
# it and consumers read from it. The others are **followers** that keep fetching from the leader. The followers
# that are caught up form, with the leader, the **in-sync replicas** (ISR).
#
# We create two topics with replication factor 3 and the same placement: partition 0 on brokers 1, 2, 3 (in that
# order), partition 1 on 2, 3, 1, partition 2 on 3, 1, 2. The first broker of each list is the *preferred leader*,
# so each broker leads one partition. The topics differ in one setting, `min.insync.replicas`: how many replicas
# must hold a record before a producer with `acks=all` is told it is written. `orders` asks for 2 (the usual choice
# with three copies), `orders-strict` for all 3.

# %% tags=["shows:partition-table"]
# runs once: creates the two replicated topics
import pandas as pd
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

placement = {0: [1, 2, 3], 1: [2, 3, 1], 2: [3, 1, 2]}
min_isr = {"orders": 2, "orders-strict": 3}
admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers)
admin.create_topics([NewTopic(topic, replica_assignments=placement, topic_configs={"min.insync.replicas": str(n)})
                     for topic, n in min_isr.items()])
admin.close()


def partition_table(topic: str) -> pd.DataFrame:
    return pd.DataFrame(cluster.partitions(topic)).set_index("partition")


all_in_sync = cluster.wait_for("orders", lambda ps: all(len(p["isr"]) == 3 for p in ps))
cluster.wait_for("orders-strict", lambda ps: all(len(p["isr"]) == 3 for p in ps))
partition_table("orders")

# %% [markdown]
# ## `acks`: when is a record "written"?
#
# A producer chooses how much confirmation it waits for:
#
# - `acks=0`: none (fire and forget);
# - `acks=1`: the leader wrote it to its log. Followers have not copied it yet: if the leader dies in the next
#   milliseconds, a follower that never saw the record becomes leader, and the acknowledged record is gone;
# - `acks=all`: every replica in the ISR has it, and the ISR has at least `min.insync.replicas` members. If the ISR
#   is smaller, the broker **refuses** the write (`NotEnoughReplicas`) instead of accepting a record it could lose.
#
# The function below sends `records` records and counts what the broker acknowledged and what it refused
# (`retries=0`, so a refusal shows at once instead of being retried until the broker comes back).

# %%
# runs once: sends the producer experiment's records, 3 brokers up
from collections import Counter

from kafka import KafkaProducer
from kafka.errors import KafkaError


def send(topic: str, acks: int | str, n: int = records) -> dict:
    """Send n records; count the acknowledged and the refused ones, and name the refusal."""
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks=acks, retries=0, linger_ms=5)
    futures = [producer.send(topic, key=str(i).encode(), value=f"order {i}".encode()) for i in range(n)]
    producer.flush()
    errors: Counter = Counter()
    for f in futures:
        try:
            f.get(timeout=30)
        except KafkaError as err:
            errors[type(err).__name__] += 1
    producer.close()
    refused = sum(errors.values())
    return {"acknowledged": n - refused, "refused": refused, "error": ", ".join(sorted(errors)) or "-"}


def experiment(label: str) -> pd.DataFrame:
    rows = [{"topic": t, "acks": str(acks), "min.insync.replicas": n, **send(t, acks)}
            for t, n in min_isr.items() for acks in (1, "all")]
    return pd.DataFrame(rows).set_index(["topic", "acks"]).rename_axis(columns=label)


healthy = experiment("3 brokers up")
healthy

# %% [markdown]
# ## A broker dies
#
# Now the node leading partition 0 is killed with SIGKILL, as a power cut would: no clean shutdown, no handing over.
# The controllers notice that it stopped sending heartbeats (a few seconds), remove it from every ISR and make the
# next in-sync replica of each partition it led the new leader. The cell waits for that and shows the table again.

# %% tags=["shows:leader-failover"]
# runs once: kills the broker that leads partition 0
leader_of_0 = partition_table("orders").loc[0, "leader"]
cluster.kill(f"kafka-{leader_of_0}")
after_kill = {t: cluster.wait_for(t, lambda ps: all(leader_of_0 not in p["isr"] and p["leader"] not in (-1, leader_of_0)
                                                    for p in ps))
              for t in min_isr}
print(f"killed broker {leader_of_0}, the leader of partition 0")
partition_table("orders")

# %% [markdown]
# Partition 0's new leader is broker 2, the next replica in its list; partitions 1 and 2 keep their leaders. Every
# ISR has two members now. The same producer experiment, with one broker down:

# %% tags=["shows:acks-one-down"]
# runs once: sends the producer experiment's records again, 1 broker down
degraded = experiment("1 broker down")
degraded

# %%
import matplotlib.pyplot as plt

both = pd.concat({"3 brokers up": healthy["acknowledged"], "1 broker down": degraded["acknowledged"]}, axis=1)
ax = both.plot.bar(rot=0, color=["#4c72b0", "#dd8452"])
ax.set_ylabel(f"records acknowledged (of {records})")
ax.set_xlabel("topic, acks")
ax.set_title("What the brokers acknowledge before and after a broker dies")
ax.set_xticklabels([f"{t}\nacks={a}" for t, a in both.index])
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the orange bars, one broker down:
#
# - `orders`, `acks=all`: accepted. The ISR has 2 members, which is `min.insync.replicas`: every acknowledged record
#   is on two brokers, so one more failure still loses nothing.
# - `orders-strict`, `acks=all`: **refused**. Three copies were demanded and only two brokers are in sync. The
#   producer gets an error it can act on (wait, alert, buffer): no silent loss, but no availability either.
# - both topics with `acks=1`: accepted, by the leader alone. Availability is kept, and so is the risk: a record
#   acknowledged by one broker is lost if that broker dies before a follower copies it.
#
# That is the trade: `acks=all` with `min.insync.replicas=2` and three replicas is the common setting because it
# survives one broker down *and* never acknowledges a record held by a single broker. The kit's `data_gen` and the
# demo produce with `acks=all` and idempotence, and `KAFKA_REPLICATION_FACTOR=3 KAFKA_MIN_INSYNC_REPLICAS=2` make
# every topic the kit creates like `orders`.

# %% [markdown]
# ## The broker comes back
#
# `cluster.up()` starts what is missing. The restarted broker fetches what it missed from the leaders and rejoins
# every ISR. It does not get its leadership back by itself at once: the controller moves leaders back to the
# preferred replica periodically (`auto.leader.rebalance.enable`, every 5 minutes by default), or when asked with
# a *preferred leader election*, which the cell runs.

# %%
# runs once: restarts the killed broker and moves the leaders back
cluster.up()
caught_up = cluster.wait_for("orders", lambda ps: all(len(p["isr"]) == 3 for p in ps))
cluster.wait_for("orders-strict", lambda ps: all(len(p["isr"]) == 3 for p in ps))
leaders_before = [p["leader"] for p in caught_up]
admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers)  # a new client: the old one knew broker 1 dead
admin.perform_leader_election(0, {t: [0, 1, 2] for t in min_isr})  # 0: elect the preferred replica
admin.close()
rebalanced = cluster.wait_for("orders", lambda ps: [p["leader"] for p in ps] == [r[0] for r in placement.values()])
print(f"back in every ISR; leaders {leaders_before} before the election, "
      f"{[p['leader'] for p in rebalanced]} after")

# %% tags=["shows:log-equals-acked"]
from etl_lib.lab import end_offsets

in_log = {t: sum(parts.values()) for t, parts in end_offsets(s, min_isr).items()}
acknowledged = (healthy["acknowledged"] + degraded["acknowledged"]).groupby(level="topic").sum()
print("records in each topic's log:", in_log)
print("acknowledged records:       ", acknowledged.to_dict())

# %% [markdown]
# Every acknowledged record is in the log, and nothing else: the refused sends were never written. (With
# `acks=1` and a leader that dies *between* the acknowledgement and the followers' fetch, the log would hold fewer
# records than were acknowledged. That race lasts milliseconds, so it cannot be shown reliably; `acks=all` is how
# a producer rules it out.)

# %% [markdown]
# ## Spark on a standalone master
#
# `SPARK_MASTER=spark://…` is the only change from `local[4]`. The session below asks the master for executors;
# the master starts one on each worker. Executors are separate JVMs: they do not see this notebook's classpath, so
# the Kafka connector must reach them. The kit lists the connector jars (resolved by Maven into `jvm/connector/lib`)
# in `spark.jars`; the driver serves them and each executor downloads them when it starts. On a real cluster the
# same setting works; the alternatives are `spark.jars.packages` (the *driver* resolves the coordinates through Ivy,
# from Maven Central or from the repositories in `spark.jars.repositories` / `spark.jars.ivySettings`, and the
# executors fetch the resolved jars from the driver, as with `spark.jars`) or an image with the jars baked in
# (Kubernetes).

# %% tags=["shows:executor-jars"]
from pathlib import Path

from etl_lib.lab import spark_session

spark = spark_session(s)
jars = sorted(Path(j).name for j in spark.conf.get("spark.jars").split(","))
app = next(a for a in cluster.master_state()["activeapps"] if a["id"] == spark.sparkContext.applicationId)
workers = cluster.master_state()["workers"]
print(f"master is the practice cluster: {spark.sparkContext.master == cluster.spark_master}; {len(workers)} workers "
      f"with {sum(w['cores'] for w in workers)} cores in all; this application's executors hold {app['cores']}")
print("jars every executor fetches from the driver:", *jars, sep="\n  ")

# %% [markdown]
# ## The same ETL code, on the cluster
#
# `data_gen` now replays a simulated day into the cluster's topics (created with replication factor 3 and
# `min.insync.replicas` 2 from the settings), and the kit's own ETL runs unchanged: the raw and quarantine streams of
# notebook 09, available-now. The driver plans each micro-batch; its tasks (one per Kafka partition) run on the two
# executors. While it runs, the master's UI at `http://127.0.0.1:8080` lists the application and its executors (and,
# with `SPARK_UI_ENABLED=true`, the application's own UI on port 4040 shows its jobs, stages and tasks).

# %% tags=["shows:etl-on-cluster"]
# runs once: sends a simulated day to the cluster and runs the pipeline
from data_gen import GenParams, KafkaSink, generate
from etl_lib.commit_log import read_sink
from etl_lib.config import ANALYTICS_FLAGS
from etl_lib.lab import ensure_topics
from etl_lib.main import run_etl
from etl_lib.writers import TOPIC_FOLDERS

ensure_topics(s)
key = generate(GenParams(days=days, scale=scale, seed=42), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
raw_only = s.replace(**{flag.lower(): False for flag in ANALYTICS_FLAGS})
run = run_etl(spark, raw_only, available_now=True, echo=lambda line: None)
executors = spark.sparkContext._jsc.sc().statusTracker().getExecutorInfos()  # the driver is listed too
counts = pd.DataFrame({topic: {"valid records sent": key["counts"][topic]["valid"],
                               "rows in raw Parquet": len(read_sink(s.output_base_path / folder)),
                               "malformed sent": key["counts"][topic]["quarantined"],
                               "rows in quarantine": len(read_sink(s.quarantine_path / folder))}
                       for topic, folder in TOPIC_FOLDERS.items()}).T
print(f"the raw query ({', '.join(run.queries)}) ran on {len(executors) - 1} executors")
counts

# %% [markdown]
# The counts match exactly, as they did in local mode: the code did not change, only where its tasks ran. What a
# real cluster adds is in docs/cluster.md: `DATA_DIR` on storage every executor reaches (here all of them share this
# machine's disk), executors that can connect back to the driver, and the connector jars as above.

# %%
# runs once: stops Spark and the practice cluster
from etl_lib.spark import stop_spark

stop_spark(spark)
cluster.down()
print("Spark stopped; every process of the practice cluster stopped:", not any(cluster.alive().values()))

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. A topic has replication factor 3 and `min.insync.replicas=2`. Two of its three brokers die. What happens to a producer with `acks=all`, and to one with `acks=1`? (Assume the controllers still have a majority.)**
#
# <details><summary>Answer</summary>
#
# The ISR shrinks to one replica, below `min.insync.replicas`, so `acks=all` sends are refused with `NotEnoughReplicas` (after retries, the producer reports the failure). `acks=1` sends are still accepted by the surviving leader, held on one broker only: if that broker fails before the others return and copy them, they are lost. (With three combined broker-controller nodes, two down also means no controller majority, so no leader can be elected for partitions whose leader died.)
#
# </details>
#
# **2. Predict: in this notebook, `orders` had `min.insync.replicas=2`. What would the four bars after the kill have shown with `min.insync.replicas=1`?**
#
# <details><summary>Answer</summary>
#
# The same three accepted and one refused: `orders` accepts with either `acks` (an ISR of two meets a minimum of 1 as it met 2), and `orders-strict`, unchanged, still refuses `acks=all` and accepts `acks=1`. The difference shows with two brokers down: with a minimum of 1, `acks=all` only waits for the current ISR, even if that is the leader alone, so `orders` would keep accepting, and then it protects no better than `acks=1`.
#
# </details>
#
# **3. Why does the restarted broker not lead partition 0 again at once, and why does that matter for load?**
#
# <details><summary>Answer</summary>
#
# Leadership moved to broker 2 while broker 1 was down; moving it back is a separate step (a preferred leader election, automatic every few minutes or on request). Until then broker 2 leads two partitions and serves their produce and fetch traffic while broker 1 leads none: the load is skewed, which is why clusters rebalance leaders back to the preferred replicas.
#
# </details>
#
# **4. On the standalone master, which process runs the Kafka source's tasks, and what breaks if the connector jar is only on the driver's classpath?**
#
# <details><summary>Answer</summary>
#
# The executors run the tasks (one per Kafka partition, in each micro-batch); the driver only plans them and tracks offsets. If only the driver had the connector, the query would plan fine but the tasks would fail on the executors with a class-not-found error for the Kafka source classes. `spark.jars` (or `spark.jars.packages`, or an image with the jars) ships them to every executor.
#
# </details>
#
# **5. Compare a Spark task with one of notebook 03's bucket workers.**
#
# <details><summary>Answer</summary>
#
# Both process one independent piece of the input in parallel: a bucket of files packed to 10 MB for a bucket worker, a Kafka partition's offset range (or a file split) for a Spark task. The differences: Spark's scheduler places tasks on executors across machines, retries a failed task elsewhere and tracks the whole job's progress; notebook 03's workers are threads in one process, and the packing (best-fit decreasing) balances the pieces up front instead of splitting by partition.
#
# </details>

# %%
assert (healthy["acknowledged"] == records).all(), (
    f"3 brokers up: every send acknowledged: expected {records} each, found {healthy['acknowledged'].to_dict()}: "
    "a cell above ran twice or out of order, or the practice cluster was restarted meanwhile; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert degraded.loc[("orders-strict", "all"), "acknowledged"] == 0, (
    "acks=all refused below min.insync.replicas: expected 0 acknowledged, found "
    f"{degraded.loc[('orders-strict', 'all'), 'acknowledged']}: "
    "a cell above ran twice or out of order, or the practice cluster was restarted meanwhile; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert degraded.loc[("orders", "all"), "acknowledged"] == records, (
    f"min.insync.replicas=2 keeps accepting: expected {records} acknowledged, found "
    f"{degraded.loc[('orders', 'all'), 'acknowledged']}: "
    "a cell above ran twice or out of order, or the practice cluster was restarted meanwhile; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert in_log == acknowledged.to_dict(), (
    f"the logs hold exactly the acknowledged records: expected {acknowledged.to_dict()}, found {in_log}: "
    "a cell above ran twice or out of order, or the practice cluster was restarted meanwhile; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert (counts["valid records sent"] == counts["rows in raw Parquet"]).all(), (
    "expected every valid record sent in the raw Parquet once, found:\n"
    f"{counts[['valid records sent', 'rows in raw Parquet']]}\n"
    "a cell above ran twice or out of order, or the practice cluster was restarted meanwhile; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert (counts["malformed sent"] == counts["rows in quarantine"]).all(), (
    "expected every malformed record sent in the quarantine once, found:\n"
    f"{counts[['malformed sent', 'rows in quarantine']]}\n"
    "a cell above ran twice or out of order, or the practice cluster was restarted meanwhile; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
print("acks=all refused below min.insync.replicas and accepted at it; logs == acknowledged; "
      "the ETL on the standalone master wrote every valid record once: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - A partition lives on `replication.factor` brokers: a leader takes writes, in-sync followers copy them (→ *Partitions, replicas, leaders, ISR*) [12#partition-table] [12#leader-failover] [doc: Kafka 4.4 · Producer Configs · acks]
# - `acks=all` with `min.insync.replicas=2` of 3: a broker can die with no acknowledged record lost (→ *`acks`: when is a record "written"?*) [12#acks-one-down] [12#log-equals-acked] [doc: Kafka 4.4 · Topic Configs · min.insync.replicas]
# - With three replicas, `min.insync.replicas=2` and `acks=all`, a broker can die without refusing a write (→ *A broker dies*) [12#leader-failover] [12#acks-one-down]
# - With fewer in-sync replicas than required, the broker refuses writes rather than risk a loss (→ *A broker dies*) [12#acks-one-down] [doc: Kafka 4.4 · Topic Configs · min.insync.replicas]
# - `acks=1` keeps accepting and carries the risk of losing acknowledged records (→ *A broker dies*) [12#acks-one-down] [doc: Kafka 4.4 · Producer Configs · acks]
# - The driver plans, executors run tasks; they get the connector through `spark.jars` (→ *Spark on a standalone master*) [12#executor-jars] [12#etl-on-cluster] [doc: Spark 4.2 · Cluster Mode Overview · Components] [doc: Spark 4.2 · Submitting Applications · Advanced Dependency Management]
# - The same ETL code runs on `spark://…`; only settings change (→ *The same ETL code, on the cluster*) [12#etl-on-cluster]

# %% [markdown]
# **Further reading**
#
# - docs/cluster.md (the practice cluster, and what a real cluster needs)
# - Kafka's documentation: replication, `acks`, `min.insync.replicas`, KRaft
# - Spark's documentation: cluster mode overview, standalone mode

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 11_modes_joins_dedup](11_modes_joins_dedup.ipynb) | [contents](README.md) | [13_inside_the_state →](13_inside_the_state.ipynb)
