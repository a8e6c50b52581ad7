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
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 15 · Exam review
#
# **You will learn to**
#
# - answer every self-check question of the kit in one place
# - score yourself per concept on the question bank, and find the lesson and page to reread
# - find the notebook to reread for each topic
# - write an explanation of each concept and check it against a model answer's key points
#
# **Prerequisites:** notebooks 00 to 14\
# **Time:** about 40 minutes

# %%
from etl_lib.lab import setup

lesson = setup("15", kafka=False)

# %% tags=["parameters"]
show_counts: bool = True
answers_file: str = ""  # a JSON file {question id: letter} to score; empty: the answers in the quiz cell
explain_file: str = ""  # a JSON file {question id: written answer} to check; empty: the cell's answers
serbian: bool = False  # show the model answers in Serbian

# %% [markdown]
# Try each question before opening the answer. The heading under each notebook links back to it.

# %% [markdown]
# ## 00 · Environment check
#
# [open the notebook](00_environment_check.ipynb)
#
# **1. Why does the kit hand Spark the connector as local jars (`spark.jars`) instead of `spark.jars.packages`?**
#
# <details><summary>Answer</summary>
#
# `spark.jars.packages` makes the driver download the connector through Ivy at start-up: slow, and impossible offline unless `spark.jars.repositories` or `spark.jars.ivySettings` points Ivy at a mirror that is reachable. Maven resolves the jars once (`make jars`), and Spark ships the local files to every executor, also on a cluster.
#
# </details>
#
# **2. What does the `_2.13` in `spark-sql-kafka-0-10_2.13` mean, and what happens if it is wrong?**
#
# <details><summary>Answer</summary>
#
# It is the Scala binary version the jar was compiled for. Scala 2.12 and 2.13 are not binary compatible: a 2.12 connector on a 2.13 Spark fails at run time with missing classes or methods.
#
# </details>
#
# **3. Why must Java be 17 or newer here?**
#
# <details><summary>Answer</summary>
#
# Both Apache Kafka 4 (the broker) and Spark 4 require Java 17 at least.
#
# </details>
#

# %% [markdown]
# ## 01 · Configuration and feature flags
#
# [open the notebook](01_configuration.ipynb)
#
# **1. Why validate settings when they are loaded rather than when they are used?**
#
# <details><summary>Answer</summary>
#
# A bad value then fails at once with a message naming the variable, instead of minutes later deep inside Spark or the JVM, possibly after part of the output has been written.
#
# </details>
#
# **2. What is a feature flag, and give two reasons to use one in a streaming job.**
#
# <details><summary>Answer</summary>
#
# A setting that turns a piece of the job on or off without changing code. Reasons: test or debug one stream at a time; switch off an expensive or broken stream; roll a new analytic out gradually.
#
# </details>
#
# **3. Which two settings change when the job moves from a laptop to a cluster?**
#
# <details><summary>Answer</summary>
#
# `SPARK_MASTER` (e.g. `spark://host:7077` or `k8s://...`) and `KAFKA_BOOTSTRAP_SERVERS`; paths (`DATA_DIR`) must also point at storage every executor can reach.
#
# </details>
#

# %% [markdown]
# ## 02 · Producer–consumer streaming on threads
#
# [open the notebook](02_streaming_on_threads.ipynb)
#
# **1. Why does a bounded queue give backpressure, and what would an unbounded queue do when workers fall behind?**
#
# <details><summary>Answer</summary>
#
# `put()` on a full bounded queue blocks the producer until a worker takes an item, so the producer slows to the workers' pace. An unbounded queue keeps accepting: memory grows until the process dies, and latency grows with it.
#
# </details>
#
# **2. Why add random jitter to exponential backoff?**
#
# <details><summary>Answer</summary>
#
# Workers that failed at the same moment would otherwise retry at the same moments too, hitting the recovering service in synchronised waves (the thundering herd). Jitter spreads the retries out.
#
# </details>
#
# **3. Which errors should be retried, and which should go straight to the dead-letter file?**
#
# <details><summary>Answer</summary>
#
# Transient ones (timeouts, a busy or briefly unreachable service) may succeed later. Permanent ones (bad data, a bug, a rejected record) fail the same way every time: retrying only wastes time.
#
# </details>
#
# **4. What is wrong with `daemon=True` worker threads plus `time.sleep(1)` as a shutdown?**
#
# <details><summary>Answer</summary>
#
# On a normal exit nothing is lost: the seed calls `work_queue.join()`, which returns only when every batch is done, before `stop_event.set()`. The trouble is the other exits. A Ctrl+C or an exception in the main thread ends the program, and daemon threads are killed wherever they are, in the middle of a batch, without a trace. If a worker dies without calling `task_done()`, `join()` never returns. And `sleep(1)` guesses how long the workers take to leave their loop instead of waiting for them. Use non-daemon workers, drain with `queue.join()` (with `task_done()` in a `finally`), signal the workers, `join()` them, and handle Ctrl+C by the same path.
#
# </details>
#
# **5. The seed's workers share a plain dict of metrics. What can go wrong?**
#
# <details><summary>Answer</summary>
#
# `metrics['x'] += 1` is read, add, write: two threads can interleave and lose an update. Counters shared between threads need a lock.
#
# </details>
#
# **6. In the backpressure plot, the source sends 40 batches a second and one worker handles 20. Once the queue is full, how fast does the producer run, how long is a batch's wait in the queue, and what would grow without limit if the queue were unbounded?**
#
# <details><summary>Answer</summary>
#
# The producer runs at the worker's pace, 20 batches a second: each `put()` waits until the worker takes a batch. A batch then waits behind the 10 queued ones, about 10 × 50 ms = 0.5 s. With an unbounded queue the producer would never wait, and the queue (memory) and every batch's latency would grow by 20 batches each second for as long as the source runs.
#
# </details>
#

# %% [markdown]
# ## 03 · Nightly file pipeline: best-fit decreasing
#
# [open the notebook](03_nightly_file_pipeline.ipynb)
#
# **1. Why sort the files largest first before packing?**
#
# <details><summary>Answer</summary>
#
# Big items are the hard ones to place; putting them first leaves the small ones to fill the gaps. Without sorting, early small files spread over buckets leave no room for a big one later, which then opens a new bucket.
#
# </details>
#
# **2. What is the difference between first fit and best fit?**
#
# <details><summary>Answer</summary>
#
# First fit puts the item into the first bucket (in order of opening) where it fits; best fit into the bucket where it leaves the least space free.
#
# </details>
#
# **3. Why is a lower bound useful when judging a heuristic?**
#
# <details><summary>Answer</summary>
#
# The true optimum is too expensive to compute for large inputs; if the heuristic's count equals (or is close to) a lower bound, it is provably optimal (or close).
#
# </details>
#
# **4. Why write each archive under a temporary name and rename it at the end?**
#
# <details><summary>Answer</summary>
#
# A rename is atomic: readers never see a half-written archive, and a retried attempt does not leave a broken file behind.
#
# </details>
#
# **5. A packing uses B buckets and the L2 bound is L. What does B = L prove, and what does the mean free space of L buckets (the dashed line on the right) tell you when B > L?**
#
# <details><summary>Answer</summary>
#
# B = L proves the packing optimal: no packing can use fewer than L. When B > L, the optimum lies somewhere between L and B; the mean free space with L buckets is the least any packing could possibly leave, so the gap between it and the packing's own mean free space bounds what a better algorithm could still gain.
#
# </details>
#

# %% [markdown]
# ## 04 · Kafka with kafka-python, and the simulated world
#
# [open the notebook](04_kafka_and_data_gen.ipynb)
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

# %% [markdown]
# ## 05 · Parsing with explicit schemas, and the quarantine
#
# [open the notebook](05_parsing_and_quarantine.ipynb)
#
# **1. Why use an explicit schema instead of schema inference on a stream?**
#
# <details><summary>Answer</summary>
#
# Inference looks at the data present when the query is defined and fixes the schema then: a later record with another type gets nulls, a new field is dropped, and the schema can differ between runs. An explicit schema is a contract: records that break it are caught. (`spark.sql.streaming.schemaInference` only applies to file sources; Kafka's value is parsed with the schema you give `from_json`.)
#
# </details>
#
# **2. Why keep malformed records instead of filtering them out?**
#
# <details><summary>Answer</summary>
#
# A silent drop hides bugs upstream and makes counts impossible to reconcile. Quarantine keeps the raw value, the reason and the Kafka coordinates, so someone can look, fix and replay.
#
# </details>
#
# **3. A producer adds a new field `promo_code`. What happens in this pipeline, and why is that desirable?**
#
# <details><summary>Answer</summary>
#
# Nothing breaks: the explicit schema ignores fields it does not know, and the record is valid. Producers can add fields without coordinating with every consumer (schema evolution).
#
# </details>
#
# **4. Which Kafka columns make a quarantined record traceable to its source?**
#
# <details><summary>Answer</summary>
#
# `topic`, `partition` and `offset` identify it exactly; the key and timestamp help too.
#
# </details>
#
#
# **5. A query was started with `startingOffsets=latest`, stopped, and restarted a day later with the same checkpoint. Does it skip what arrived while it was down? And where would you look for its offsets in Kafka's consumer groups?**
#
# <details><summary>Answer</summary>
#
# It does not skip anything: `startingOffsets` applies only to a query's first start; a restart continues from the offsets in its checkpoint, so it reads everything that arrived while it was down (unless Kafka deleted it meanwhile, which `failOnDataLoss` reports). Its offsets are not in any consumer group: Spark's Kafka source assigns partitions itself and commits nothing to the broker. Look in the checkpoint's `offsets/` folder, or at `sources[].endOffset` in the query's progress.
#
# </details>
#
# **6. A file source with inference on fixed `trip_duration` as a whole number. A file arrives with `612.5`. What does the query write for it?**
#
# <details><summary>Answer</summary>
#
# A null `trip_duration` (the record is kept, the value lost) and no error; a field the first files did not have is dropped. The schema is fixed when the query is defined.
#
# </details>
#

# %% [markdown]
# ## 06 · Windows, watermarks and late data
#
# [open the notebook](06_windows_and_watermarks.ipynb)
#
# **1. An event at 08:20 arrives when the watermark is 08:45. Is it counted in the 08:15–08:30 window? Why?**
#
# <details><summary>Answer</summary>
#
# No. The watermark is already past the end of that window (08:30): Spark has finalised it and dropped its state, so the event has no window to go into. That is the watermark's doing, not the output mode's: in update mode the event is dropped too. (Strictly, Spark only promises to keep data *newer* than the watermark; data older than it may or may not be dropped. Here it is.)
#
# </details>
#
# **2. What does a larger watermark delay buy, and what does it cost?**
#
# <details><summary>Answer</summary>
#
# More late events are still counted, but every window is emitted later and Spark keeps more windows in its state store.
#
# </details>
#
# **3. How many sliding windows of 15 minutes, sliding every 5 minutes, contain a given event?**
#
# <details><summary>Answer</summary>
#
# Three (15 / 5).
#
# </details>
#
# **4. Why do the last windows of a finished run stay unwritten?**
#
# <details><summary>Answer</summary>
#
# Nothing newer has arrived to push the watermark past their end. The state store keeps them, and a later run with newer data emits them.
#
# </details>
#
# **5. An upstream replay sends one bike trip twice, 30 seconds apart. What does the raw Parquet hold, what do the analytics count, and why does `dropDuplicatesWithinWatermark` need a watermark?**
#
# <details><summary>Answer</summary>
#
# The raw Parquet holds both copies (it records what arrived); the analytics count the trip once, because they drop repeated (source, record id) pairs. The watermark bounds the deduplication state: Spark forgets an id once the watermark passes its first copy's event time plus the delay (and drops any row at or behind the watermark before the lookup). Without one, `dropDuplicates` on a stream keeps every id it has ever seen, and its state grows without end.
#
# </details>
#
#
# **6. The weather topic runs an hour ahead of the bike topic. With one watermark on their union, what happens to the bike counts? What changes with a watermark per topic and `multipleWatermarkPolicy=min`, and what does that cost?**
#
# <details><summary>Answer</summary>
#
# With one watermark, the watermark follows the weather, so bike records arrive behind it and their windows are already closed: they are left out, silently. With a watermark per topic and `min`, the slowest topic sets the watermark, so nothing is late because of another topic; the cost is that every window is written only when the slowest topic has moved past it, and a topic that stops sending holds every window open.
#
# </details>
#
# **7. The hand-written chain counted the 08:20 bike that the kit left out. Same data, same watermark delay: why?**
#
# <details><summary>Answer</summary>
#
# It read all the records in one micro-batch. The watermark used to drop late rows is the one computed at the end of the previous batch; in the first batch there is none, so nothing is late. The kit's query saw the 08:20 bike in its second run, after the first had moved the watermark to 08:45.
#
# </details>
#
# **8. In the event-time picture, batches 1 and 3 read no records at all. Why did Spark run them, and what did they write?**
#
# <details><summary>Answer</summary>
#
# They are no-data batches: after a batch that moved the newest event time, Spark runs one more batch with no input so that the new watermark takes effect at once, instead of waiting for the next record. In it, the windows whose end the watermark has passed are written (append mode) and dropped from the state. Batch 1 ran with watermark 08:45 and wrote the windows up to 08:30-08:45; batch 3 ran with 09:20.
#
# </details>
#
# **9. Your analytics stopped producing rows last night. Every query is active, none failed, raw Parquet still grows. What do you look at first, and what could one record have done?**
#
# <details><summary>Answer</summary>
#
# The watermark in the queries' progress (`eventTime.watermark`) and `numRowsDroppedByWatermark`. One record with an event time far in the future (year 9999) moves the watermark there for good; every record after it is behind the watermark and dropped, while the raw path, which has no watermark, keeps writing. The kit quarantines such a record (`EVENT_TIME_MAX_AHEAD`); a checkpoint already poisoned has to be started afresh.
#
# </details>
#
# **10. Why does the kit compare an event time with the record's Kafka timestamp, and not with the clock of the machine that parses it?**
#
# <details><summary>Answer</summary>
#
# So that the verdict is the same every time the record is parsed. A batch replayed after a crash, or a year of data replayed from Kafka, is parsed again later; with the clock, a record could be valid in one run and quarantined in the next, and the exactly-once counts would no longer hold. The Kafka timestamp is stored with the record, so the rule gives the same answer on every replay.
#
# </details>
#

# %% [markdown]
# ## 07 · Parquet, partitions, checkpoints and exactly-once
#
# [open the notebook](07_parquet_and_checkpoints.ipynb)
#
# **1. What is in a streaming checkpoint, and why does it give exactly-once output with a file sink?**
#
# <details><summary>Answer</summary>
#
# The offset log (which Kafka offsets each batch reads, written before it runs), the commit log (which batches finished) and the state of stateful operators; the file sink keeps its own log of committed files in `_spark_metadata`. A failed batch is redone with the same offsets (Kafka can replay them), and files not in the sink's log are ignored by readers that honour it: Spark's readers and the kit's `read_sink`, but not `pandas.read_parquet` over the folder, which counts a killed batch's orphan files.
#
# </details>
#
# **2. Why partition by year/month/date/hour, and what is the cost of going too fine?**
#
# <details><summary>Answer</summary>
#
# Queries filtering on time read only matching folders. Too fine a partitioning (or many writers per folder) makes many tiny files: slow to write, slow to list and read (the small files problem).
#
# </details>
#
# **3. You changed a window length from 15 to 10 minutes and restarted on the old checkpoint. What happens, and what should you have done?**
#
# <details><summary>Answer</summary>
#
# Spark accepts it: the state's key is still a window, so its schema check passes. The windows still open in the old state are written with 15 minutes, new ones with 10: a mixed output and no error. A change to the key (grouping by another column) or to the aggregates is refused. Either way, a changed stateful query needs a new checkpoint folder (and reprocessing from the earliest offsets, or accepting the gap).
#
# </details>
#
# **4. Does `startingOffsets=earliest` matter when a query restarts on its checkpoint?**
#
# <details><summary>Answer</summary>
#
# No: it applies only to a new checkpoint. A restarted query continues from the offsets in its checkpoint.
#
# </details>
#
# **5. You set `spark.sql.shuffle.partitions` to 200 and restart a windowed query on its checkpoint. How many state partitions does it use? And does `spark.sql.adaptive.enabled` coalesce them?**
#
# <details><summary>Answer</summary>
#
# The value saved in the checkpoint (here 4): the state is stored in that many partitions, so a restart keeps it. AQE never plans a stateful query (Spark logs "Disabling AQE since AQE is not supported in stateful workloads"), so it cannot coalesce them. It does plan stateless streaming queries since release 4.1 (`spark.sql.adaptive.streaming.stateless.enabled`, on by default: the station-shuffled stream above wrote one file per micro-batch instead of four) and batch queries, such as a report over the raw Parquet.
#
# </details>
#

# %% [markdown]
# ## 08 · The analytics, correlations and graph-ready plots
#
# [open the notebook](08_analytics_and_plots.ipynb)
#
# **1. Why can Pearson's r be computed in a stream from n, Σx, Σy, Σxy, Σx², Σy²?**
#
# <details><summary>Answer</summary>
#
# r is a function of those six sums, and sums over disjoint groups add up: each hour emits its sums once, and any set of hours can be combined later, without keeping the raw pairs.
#
# </details>
#
# **2. Why union the bike, taxi and weather streams instead of joining them?**
#
# <details><summary>Answer</summary>
#
# A union followed by one window aggregation gives counts and mean weather per window in a single stateful step, in append mode. Joining aggregated streams is restricted in Structured Streaming and needs more state.
#
# </details>
#
# **3. Light rain shows fewer taxis than dry weather in some weeks, though the model says rain raises taxi demand. How can that be?**
#
# <details><summary>Answer</summary>
#
# Confounding: if the week's few rain episodes fell at night, light-rain windows are mostly night windows, when taxis are few anyway. Comparing means across categories mixes the rain effect with the time of day. Comparing each rainy window with dry windows of the same hours (the kit's "same-hours change") removes that; what is left is sampling noise, which the answer key's planted value lets you see.
#
# </details>
#
# **4. Why is the safety analysis windowed per hour rather than per 15 minutes?**
#
# <details><summary>Answer</summary>
#
# Accidents are rare (about one an hour): 15-minute windows would be mostly zeros, and the rates too noisy.
#
# </details>
#
# **5. Seven streaming queries start from the same three Kafka topics. How often are the topics read, and what does a silver table change?**
#
# <details><summary>Answer</summary>
#
# Seven times: each query has its own source, offsets, state and checkpoint, and shares nothing with the others. With a silver table one query reads the topics and writes the 15-minute windows once; the seven read that small table as a streaming file source. Exactly-once still holds: the silver sink commits each batch's files in its log, and each reader's checkpoint records which files it has read.
#
# </details>
#
#
# **6. A 15-minute window slides every 5 minutes. In how many windows does one trip count, and what does the sliding series give that 5-minute tumbling windows do not?**
#
# <details><summary>Answer</summary>
#
# Three (15 / 5). The sliding series comes every 5 minutes like the short windows, but each value sums 15 minutes of trips, three times as many, so its relative noise (standard deviation over mean, for Poisson-like counts) is 1/√3 of the short windows', about 0.58: smoother, though not three times; the cost is state (three windows updated per trip and open at once).
#
# </details>
#

# %% [markdown]
# ## 09 · The orchestrator: all streams, flags and a graceful stop
#
# [open the notebook](09_orchestrator.ipynb)
#
# **1. What does the orchestrator do when one query fails?**
#
# <details><summary>Answer</summary>
#
# It notices the failed query, stops all the others, then Spark, prints the failing query's name with the class and message of the JVM exception that ended it and where the driver log is, and exits with code 1 (no Python traceback).
#
# </details>
#
# **2. Why stop the queries before `spark.stop()`?**
#
# <details><summary>Answer</summary>
#
# So that each query's thread ends and its resources are released before the session that runs them goes away, and the program exits with no JVM left. Stopping does not wait for the running micro-batch: it is abandoned. The checkpoint stays recoverable anyway, because a batch's offsets are logged before it runs and its commit after it finished: a restart runs an uncommitted batch again, and the file sink skips what it already committed. That is why even `kill -9` loses and duplicates nothing.
#
# </details>
#
# **3. What is the difference between the available-now trigger and a processing-time trigger? And which is "continuous mode"?**
#
# <details><summary>Answer</summary>
#
# Available-now processes everything the source holds at start (possibly in several batches) and stops; a processing-time trigger runs a micro-batch every interval until stopped. Neither is continuous mode: that is `trigger(continuous=...)`, a separate engine with long-running tasks, for map-like queries without aggregations.
#
# </details>
#

# %% [markdown]
# ## 10 · Watch it stream: progress, watermark and state, live
#
# [open the notebook](10_live_stream.ipynb)
#
# **1. A query with a 4-second trigger shows batch durations of 6 s, 7 s and 6 s for many batches in a row. What happens to the trigger, to the input rate of each batch and to the latency of results, and what could you change?**
#
# <details><summary>Answer</summary>
#
# Each batch starts as soon as the previous one ends (no waiting for the tick), so batches come every 6-7 s instead of 4. Each batch finds more rows waiting, so its input grows; if the processed rate stays below the input rate, the backlog in Kafka and the latency of results grow without limit. Options: more cores or executors, more Kafka partitions for parallelism (more shuffle partitions only for a query started on a new checkpoint: a stateful query keeps the number its checkpoint fixed, as lesson 07 shows), less work per row, `maxOffsetsPerTrigger` to bound a batch (which smooths batches but does not add capacity), or a longer trigger interval, which amortises the per-batch overhead.
#
# </details>
#
# **2. In the event-time panel, the watermark is a step that lags the newest event time. Why does it move only between batches, and by how much?**
#
# <details><summary>Answer</summary>
#
# Spark fixes the watermark when it plans a batch, from the largest event time seen in the batches before, minus `WATERMARK_DELAY`; during the batch it collects the new maximum, and the next batch runs with the new watermark. So the step rises by how far the newest event time moved in the previous batch.
#
# </details>
#
# **3. The state rows rise while events arrive and fall later. What makes a row leave the state of a windowed count in append mode?**
#
# <details><summary>Answer</summary>
#
# The watermark passing the window's end: the window can no longer change, so it is written to the sink (once, final) and removed from the state. Deduplication keys leave the same way, when the watermark passes their event time plus the delay.
#
# </details>
#
# **4. The query was stopped in the middle of the run and restarted with an available-now trigger. Why was no record read twice or missed?**
#
# <details><summary>Answer</summary>
#
# The checkpoint holds the offsets each batch read (written before the batch ran) and which batches committed. The restart runs an uncommitted batch again over exactly its logged offsets, then continues from the last committed offset; the watermark and the state come back from the checkpoint too. The file sink skips a batch its own log already holds.
#
# </details>
#
# **5. The file sink's progress shows `numOutputRows: -1`. How else can you find the rows each batch wrote, and why is reading the folder with pandas not enough?**
#
# <details><summary>Answer</summary>
#
# The sink's commit log (`_spark_metadata/N`) lists the files batch N added; their Parquet footers hold the row counts. Reading the folder would also count files of a batch that was killed before it committed, which the log does not list.
#
# </details>
#

# %% [markdown]
# ## 11 · Output modes, a stream–stream join and deduplication
#
# [open the notebook](11_modes_joins_dedup.ipynb)
#
# **1. A count per 15-minute window with a 10-minute watermark has seen events up to 08:50. The next batch brings a single trip at 09:02. What does update mode emit for that batch, and which window does append mode emit in the batch after it?**
#
# <details><summary>Answer</summary>
#
# The trip is not late (the batch runs with watermark 08:40), so it counts in the 09:00 window: update mode emits that window with its count, 1, and nothing else, since no other window changed. The newest event time becomes 09:02, so the next batch (a no-data batch if nothing else arrives) runs with watermark 08:52: append mode emits the 08:30–08:45 window, whose end (08:45) the watermark has now passed, with its final count. 08:45–09:00 and 09:00–09:15 stay open.
#
# </details>
#
# **2. Why does a Parquet sink accept only append mode, and what would you use to keep an always-current table of per-window counts?**
#
# <details><summary>Answer</summary>
#
# A file sink only adds files; it cannot change or delete a row it wrote, so it can only take rows that will never change. For an always-current table, use update mode into a sink that can overwrite by key: `foreachBatch` with a merge (upsert) into a table, or a key-value store; or write final rows in append mode and accept the delay of the watermark.
#
# </details>
#
# **3. In the join above, the 09:35 accident appears in the left outer join only after later records of both streams arrived. Why could Spark not emit it at once with nulls?**
#
# <details><summary>Answer</summary>
#
# Because an observation in 09:25–09:35 could still arrive, late but within the watermark delay. Spark may emit "no partner" only when the watermark guarantees no partner can come, that is when the query's watermark passes 09:35. With two inputs that watermark is the minimum of theirs: it took the 10:27 accident and the 10:30 weather to move it to 10:17.
#
# </details>
#
# **4. What bounds the state of a stream–stream join, and what happens without watermarks?**
#
# <details><summary>Answer</summary>
#
# The watermarks of both sides together with the time range of the condition: a row is dropped once no row of the other side within its range can still arrive. Without watermarks (or without a time range), Spark must keep every row of both sides for ever, since a partner could always come; the state grows without limit (and outer joins cannot run at all).
#
# </details>
#
# **5. Each copy of a duplicated record is sent 30 seconds after the first. Which deduplication would you choose for a pipeline that runs for months, and what would change if copies could arrive two hours later?**
#
# <details><summary>Answer</summary>
#
# `dropDuplicatesWithinWatermark` with a watermark delay of a few minutes: it catches copies 30 seconds apart and keeps only recent ids in state. If byte-for-byte copies can arrive two hours later, nothing changes for the count: a copy at or behind the watermark is dropped as late before the lookup, so it is never counted twice (but the drop is silent, so count it through the progress records). What a longer delay would be needed for is copies whose event time differs from the first by more than the delay (re-stamped copies): they slip through. Plain `dropDuplicates` without a watermark would catch every copy but its state grows for as long as the stream runs.
#
# </details>
#

# %% [markdown]
# ## 12 · Scale out: a replicated Kafka cluster and a Spark standalone cluster
#
# [open the notebook](12_scale_out.ipynb)
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

# %% [markdown]
# ## 14 · Inside the state: the state store read back, RocksDB, transformWithState, real-time mode
#
# [open the notebook](14_inside_the_state.ipynb)
#
# **1. A windowed count with a 10-minute watermark has windows 08:00, 08:15 and 08:30 in state. The next batch's watermark is 08:32. In append mode, how many rows will `read_state(..., batch_id=that batch)` show, and what does the change feed show for that batch?**
#
# <details><summary>Answer</summary>
#
# The windows whose end is at or before the watermark are final: 08:00–08:15 and 08:15–08:30. Append mode emits them and removes them from the state, so the reader shows one row (08:30), the same as that batch's `numRowsTotal`, and the change feed shows two `delete` rows for that batch (plus an `update` for any window the batch's data changed).
#
# </details>
#
# **2. Why does a `foreachBatch` function that only calls `df.show()` fail on a stateful query in Spark 4.2, and what should it do instead?**
#
# <details><summary>Answer</summary>
#
# `show()` reads only the first rows, so some partitions of the stateful operator never run and their state stores never commit. Spark 4.2 checks that every store of the batch committed and fails the batch with `STATE_STORE_COMMIT_VALIDATION_FAILED` (before, the next batch failed on a missing state file). The function must consume the whole DataFrame: write it, or `collect()`/`count()` it.
#
# </details>
#
# **3. When would you switch a query from the default state store to RocksDB, and how do you switch an existing query?**
#
# <details><summary>Answer</summary>
#
# When the state is large (millions of keys: long windows, many keys, a long deduplication delay) and the JVM heap and its garbage collection become the limit, or when the query uses `transformWithState`, which requires RocksDB. An existing query cannot switch: its checkpoint records the provider and a restart keeps it; start the query with a new checkpoint and rebuild the state.
#
# </details>
#
# **4. An `IdleStations` processor with a 30-minute gap has seen station 7's trips at 08:00 and 08:10; the watermark delay is 10 minutes. The next batch brings only a trip at 09:00 for station 7. What does the processor emit in that batch, and in the next?**
#
# <details><summary>Answer</summary>
#
# In that batch the watermark is still 08:00 (the newest event time so far, 08:10, minus 10 minutes), so the timer at 08:40 has not fired. The 09:00 trip arrives 50 minutes after the last one, so `handleInputRows` sees the gap and emits the run 08:00–08:10 (2 trips), then starts a new run at 09:00 with a timer at 09:30. In the next batch the watermark is 08:50: no timer fires, nothing is emitted.
#
# </details>
#
# **5. Why is the Kafka sink at-least-once although the Kafka source and the checkpoint are exactly-once, and what does a reader do about it?**
#
# <details><summary>Answer</summary>
#
# The sink writes a batch before Spark commits it. If the query dies between the write and the commit, the restart replays the batch with the same offsets and the Kafka sink, which keeps no log of batch ids, writes its records again. A reader deduplicates by a key in the record (a trip id), or the writer uses `foreachBatch` keyed by the batch id (overwrite or merge), which replaces the first copy.
#
# </details>
#
# **6. Real-time mode gave milliseconds where the 1-second trigger gave hundreds of milliseconds. Why not run every query in real-time mode?**
#
# <details><summary>Answer</summary>
#
# It runs only stateless queries in release 4.2 (no aggregations, windows or stream–stream joins; a stream–static join only with a broadcast static side), writes only to the Kafka, `foreach`, console and memory sinks (not files), and its tasks occupy a core per source partition for the whole batch duration, whether records come or not. A query whose output is a file table or a windowed aggregate, or one that runs on a few cores shared with other work, is better off with micro-batches.
#
# </details>
#

# %%
counts = {"00": 3, "01": 3, "02": 6, "03": 5, "04": 6, "05": 6, "06": 10, "07": 5, "08": 6, "09": 3, "10": 5, "11": 5, "12": 5, "14": 6}
if show_counts:
    print(sum(counts.values()), "questions in", len(counts), "notebooks")

# %% [markdown]
# ## Quiz: the question bank, scored per concept
#
# `exercises/questions.md` holds multiple-choice questions tagged with a lesson and one of the 34 concepts of [docs/concepts.md](../docs/concepts.md). Many are *predict the output*: change a parameter in the lesson, predict, then run it. The table counts them per concept and kind.

# %%
import pandas as pd

from etl_lib.exercises.quiz import load_bank, load_concepts, score_answers, show

bank, concepts = load_bank(), load_concepts()
per_concept = pd.crosstab(pd.Series([q.concept for q in bank], name="concept"),
                          pd.Series([q.kind for q in bank], name="kind")).reindex(list(concepts))
per_concept["total"] = per_concept.sum(axis=1)
print(f"{len(bank)} questions on {per_concept.shape[0]} concepts")
per_concept

# %% [markdown]
# Print the questions of a concept (or `lesson="06"`) without their answers, and note your letters:

# %%
show(bank, concept="watermarks")

# %% [markdown]
# Write your answers as `{question id: letter}` in the cell below (it is stored empty, so that no stored report gives an answer away), or save them as JSON and pass the file as the `answers_file` parameter (`papermill ... -p answers_file my_answers.json`). The report scores each concept you answered, explains each wrong answer, and says which lesson and page to reread.

# %%
import json
from pathlib import Path

answers: dict[str, str] = {}  # for example {"q070": "b", "q071": "a"}
if answers_file:
    answers = json.loads(Path(answers_file).read_text())
report = score_answers(answers, bank, concepts)
report

# %%
assert report.answered == len(answers) - len(report.unknown)
print("every answer scored against the bank:", report.correct <= report.answered)

# %% [markdown]
# ## Explain it: written answers
#
# The written exam asks you to *explain* a concept in a paragraph. `exercises/explain.md` holds a written question for every concept and for each "For your exam" prompt of seed 003, with a model answer (in English and Serbian), the key points an examiner looks for and the answer often given that is wrong. Write your answer first, in your own words; then the check shows the model answer and which key points your text names. It matches terms in either language, so it is a hint about what you may have left out, never a grade.

# %%
from etl_lib.exercises.explain import check_answers, load_explain

written_bank = load_explain()
per_concept_written = pd.Series([q.concept for q in written_bank]).value_counts().reindex(list(concepts))
print(f"{len(written_bank)} written questions; every concept has at least one:", bool(per_concept_written.min() >= 1))
for q in written_bank:
    if q.concept == "watermarks":
        print(f"{q.id} (lesson {q.lesson}): {q.question}")

# %% [markdown]
# Write your answers as `{question id: your text}` below (stored empty, so that nothing stored gives an answer away), or save them as JSON and pass the file as the `explain_file` parameter. Set `serbian` to see the model answers in Serbian.

# %%
written: dict[str, str] = {}  # for example {"x22": "The watermark is ..."}
if explain_file:
    written = json.loads(Path(explain_file).read_text())
print(check_answers(written, written_bank, serbian=serbian))

# %% [markdown]
# ## Summary
#
# Every question of the kit with its answer. For the concepts behind them, see docs/ and the glossary.
#
# **Further reading**
#
# - docs/glossary.md
# - docs/README.md

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 14_inside_the_state](14_inside_the_state.ipynb) | [contents](README.md) | (end) →
