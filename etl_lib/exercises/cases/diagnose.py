"""Lesson 09: ``diagnose``, which problem of a small table an excerpt of the Spark driver log (or of what a program
printed) shows, read from the innermost cause of its stack trace.

Every message below is real: its words come from the kit's own messages, the jars the kit runs with (Spark 4.2.0 in
pyspark's ``jars/``, the Kafka connector and its kafka-clients 3.9.2 in ``jvm/connector/lib``), pyspark and py4j,
or OpenJDK 17, as each comment says.  Spark's messages were read from ``error/error-conditions.json`` (spark-common-
utils) and ``error/kafka-error-conditions.json`` (spark-sql-kafka), put together as Spark 4.2.0 does it: a
subclass's text after its main class's, joined by a space; ``[CONDITION]`` before and ``SQLSTATE`` after the text
of a ``SparkThrowable`` built with ``SparkThrowableHelper.getMessage``, neither for the Kafka connector's own
exceptions (they call ``ErrorClassesJsonReader.getErrorMessage``) nor for a ``_LEGACY_ERROR_TEMP_*`` condition.  A
log line has the kit's pattern (``etl_lib/conf/log4j2-spark.properties``: ``%d{yyyy-MM-dd HH:mm:ss} %p %c{1}:
%m``).  Each trace shows only the first frames of each exception; the class, method, file and line of each frame
were read from the 4.2.0 jars' and OpenJDK 17.0.15's line tables (``javap -c -l``), and the excerpts marked "Real"
were copied from the kit's own driver logs (the ids, times and numbers vary per student).  ``... N more`` counts
are illustrative.
"""

from __future__ import annotations

import random
import uuid

from ..grader import exercise
from ._common import Case, Context, expect, outcome, shown

# The table of problems (ids, words, fixes) is the exercise's own: `PROBLEMS` in exercises/source/09_orchestrator.py.

# spark-sql-kafka 4.2.0, error/kafka-error-conditions.json: KAFKA_DATA_LOSS, its lines joined by "\n"; a subclass's
# text follows after one space.
DATA_LOSS = ("Some data may have been lost because they are not available in Kafka any more;\n"
             "either the data was aged out by Kafka or the topic may have been deleted before all the data in the\n"
             "topic was processed.\n"
             "If you don't want your streaming query to fail on such cases, set the source option failOnDataLoss "
             "to false.\n"
             "Reason:")
# ... its subclass PARTITION_OFFSET_CHANGED (raised on the driver, KafkaOffsetReaderBase) ...
OFFSET_CHANGED = ("Partition {tp} offset was changed from {old} to {new}.\n"
                  "This could be either 1) a user error that the start offset is set beyond available offset when "
                  "starting query, or 2) the kafka topic-partition is deleted and re-created.")
# ... and COULD_NOT_READ_OFFSET_RANGE (raised in a task, KafkaDataConsumer.throwOnDataLoss, with the Kafka
# consumer's OffsetOutOfRangeException as its cause).
OFFSET_RANGE = ("Could not read records in offset [{start}, {end}) for topic partition {tp}\n"
                "with consumer group {group}.")
CHANGED_FRAMES = """\tat org.apache.spark.sql.kafka010.KafkaExceptions$.partitionOffsetChanged(KafkaExceptions.scala:151)
\tat org.apache.spark.sql.kafka010.KafkaOffsetReaderBase.$anonfun$getOffsetRangesFromResolvedOffsets$10(KafkaOffsetReader.scala:250)
\tat org.apache.spark.sql.kafka010.KafkaMicroBatchStream.reportDataLoss(KafkaMicroBatchStream.scala:444)
\tat org.apache.spark.sql.kafka010.KafkaMicroBatchStream.$anonfun$planInputPartitions$1(KafkaMicroBatchStream.scala:220)
\tat org.apache.spark.sql.kafka010.KafkaMicroBatchStream.$anonfun$planInputPartitions$1$adapted(KafkaMicroBatchStream.scala:220)
\tat org.apache.spark.sql.kafka010.KafkaOffsetReaderBase.$anonfun$getOffsetRangesFromResolvedOffsets$9(KafkaOffsetReader.scala:250)"""
RANGE_FRAMES = """\tat org.apache.spark.sql.kafka010.KafkaExceptions$.couldNotReadOffsetRange(KafkaExceptions.scala:94)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.throwOnDataLoss(KafkaDataConsumer.scala:766)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.$anonfun$get$1(KafkaDataConsumer.scala:443)
\tat org.apache.spark.util.UninterruptibleThread.runUninterruptibly(UninterruptibleThread.scala:152)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.runUninterruptiblyIfPossible(KafkaDataConsumer.scala:790)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.get(KafkaDataConsumer.scala:398)
\tat org.apache.spark.sql.kafka010.KafkaBatchPartitionReader.next(KafkaBatchPartitionReader.scala:94)"""
# kafka-clients 3.9.2, OffsetOutOfRangeException(Map): its message, then the partition -> offset map.
OUT_OF_RANGE = ("org.apache.kafka.clients.consumer.OffsetOutOfRangeException: Offsets out of range with no configured "
                "reset policy for partitions: {{{tp}={start}}}")
OUT_OF_RANGE_FRAMES = """\tat org.apache.spark.sql.kafka010.consumer.InternalKafkaConsumer.fetch(KafkaDataConsumer.scala:103)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.$anonfun$fetchData$1(KafkaDataConsumer.scala:695)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.org$apache$spark$sql$kafka010$consumer$KafkaDataConsumer$$timeNanos(KafkaDataConsumer.scala:800)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.fetchData(KafkaDataConsumer.scala:695)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.fetchRecord(KafkaDataConsumer.scala:619)
\tat org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer.$anonfun$get$1(KafkaDataConsumer.scala:422)
\t... 25 more"""


class _World:
    """The varying parts of the excerpts (times, ids, ports, offsets), from one student's seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = self.rng.randint(0, 20 * 3600)

    def time(self) -> str:
        self.clock += self.rng.randint(0, 40)
        h, m, s = self.clock // 3600, self.clock // 60 % 60, self.clock % 60
        return f"2026-12-07 {h:02d}:{m:02d}:{s:02d}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def query(self) -> tuple[str, str]:
        """A query of the kit's ETL and the topic it reads."""
        return self.rng.choice([("raw_bike_trips", "bike-trips"), ("raw_taxi_trips", "taxi-trips"),
                                ("raw_weather_data", "weather-data"), ("quarantine_accidents", "accidents")])

    def terminated(self, name: str | None = None) -> str:
        """The log line Spark 4.2 writes when a query ends with an error (MicroBatchExecution)."""
        named = f"{name} " if name else ""
        return (f"{self.time()} ERROR MicroBatchExecution: Query {named}[id = {self.uuid()}, runId = {self.uuid()}] "
                "terminated with error")


def excerpts(seed: int) -> list[tuple[str, str, str | None, int]]:
    """(requirement, label, the expected id, the excerpt) of every case, built from one seed: the judging half and
    the observing half build the same."""
    w = _World(seed)
    rng = w.rng
    out = []

    # ------------------------------------------------------------------ cause: one problem, read where it is
    from ...core.jvm import MIN_JAVA
    from ...core.kafka import no_broker_message
    from ...core.values import parse_duration, parse_memory, parse_positive_int

    port = rng.choice([9092, 9093, 19092])
    # The kit's own message (etl_lib/core/kafka.py no_broker_message), printed by etl_lib/core/cli.py fail().
    out.append(("cause", "what a kit command printed", "no-broker",
                f"Error: {no_broker_message(f'127.0.0.1:{port}')}"))
    # kafka-clients 3.9.2 NetworkClient's warning; the prefix is the admin client's LogContext.
    client = f"[AdminClient clientId=adminclient-{rng.randint(1, 9)}]"
    warn = (f" WARN NetworkClient: {client} Connection to node -1 (/127.0.0.1:{port}) could not be established. "
            "Node may not be available.")
    out.append(("cause", "three warnings of the driver log", "no-broker",
                "\n".join(w.time() + warn for _ in range(3))))
    # Spark 4.2 DataSource.lookupDataSource -> QueryCompilationErrors.failedToFindKafkaDataSourceError:
    # _LEGACY_ERROR_TEMP_1140, as pyspark raises it (an AnalysisException, its message only).
    out.append(("cause", "the last line of a notebook's traceback", "no-connector",
                "pyspark.errors.exceptions.captured.AnalysisException: Failed to find data source: kafka. Please "
                "deploy the application as per the deployment section of Structured Streaming + Kafka Integration "
                "Guide."))
    # The kit's own message (etl_lib/core/jvm.py java_version), printed by fail().
    old = rng.choice([8, 11])
    home = {8: "/usr/lib/jvm/java-8-openjdk-amd64", 11: "/usr/lib/jvm/java-11-openjdk-amd64"}[old]
    out.append(("cause", "what a kit command printed", "java",
                f"Error: {home}/bin/java is Java {old}; the Kafka 4 broker and Spark 4 need Java {MIN_JAVA} or "
                f"newer. Install a JDK {MIN_JAVA}+ and put it first on PATH or set JAVA_HOME."))
    # The JDK launcher's message (java.launcher.cls.error7) with HotSpot's UnsupportedClassVersionError for
    # spark-launcher 4.2.0's Main.class (class file version 61, Java 17) on Java 11 (up to 55), then pyspark's
    # JAVA_GATEWAY_EXITED (pyspark/errors/error-conditions.json).
    out.append(("cause", "what a Python script printed when its Spark started on Java 11", "java",
                "Error: LinkageError occurred while loading main class org.apache.spark.launcher.Main\n"
                "\tjava.lang.UnsupportedClassVersionError: org/apache/spark/launcher/Main has been compiled by a "
                "more recent version of the Java Runtime (class file version 61.0), this version of the Java "
                "Runtime only recognizes class file versions up to 55.0\n"
                "pyspark.errors.exceptions.base.PySparkRuntimeError: [JAVA_GATEWAY_EXITED] Java gateway process "
                "exited before sending its port number."))
    # The kit's load_settings message ("VAR='value' is not valid: <the parser's reason>."), printed by fail() for a
    # ConfigError; the reason is the kit's own parser's.
    name, value, parse = rng.choice([("WINDOW_DURATION_MEDIUM", "15 minuts", parse_duration),
                                     ("BATCH_INTERVAL", "10 secs", parse_duration),
                                     ("SPARK_DRIVER_MEMORY", "2 GB", parse_memory),
                                     ("KAFKA_PARTITIONS", "three", parse_positive_int)])
    try:
        parse(value)
        reason = "?"
    except ValueError as err:
        reason = str(err)
    out.append(("cause", "what `python -m etl_lib run` printed", "bad-setting",
                f"Configuration error:\n{name}={value!r} is not valid: {reason}."))
    # The kit's own message (etl_lib/main.py _require_topics), a ConfigError printed by fail().
    setting, topic = rng.choice([("KAFKA_TOPIC_BIKE", "bike-trip"), ("KAFKA_TOPIC_WEATHER", "weather"),
                                 ("KAFKA_TOPIC_TAXI", "taxi_trips")])
    out.append(("cause", "what `python -m etl_lib run` printed", "missing-topic",
                f"Configuration error:\n{setting}={topic!r}: the broker at 127.0.0.1:{port} has no such topic.\n"
                "Correct the setting, or create and fill the topics with `python -m data_gen --days 1` (it writes "
                "to the topics these settings name), or run `python -m etl_lib demo`, which creates them and runs "
                "everything."))
    # Spark 4.2 STATE_STORE_KEY_SCHEMA_NOT_COMPATIBLE, thrown by StateSchemaCompatibilityChecker.check with the two
    # key schemas' StructType.toString: a count per start station restarted as a count per start and end station.
    out.append(("cause", "a restarted aggregation", "changed-query",
                "org.apache.spark.sql.execution.streaming.state.StateStoreKeySchemaNotCompatible: "
                "[STATE_STORE_KEY_SCHEMA_NOT_COMPATIBLE] Provided key schema does not match existing state key "
                "schema.\nPlease check number and type of fields.\n"
                "Existing key_schema=StructType(StructField(start_station_id,IntegerType,true)) and new "
                "key_schema=StructType(StructField(start_station_id,IntegerType,true),"
                "StructField(end_station_id,IntegerType,true)).\n"
                "If you want to force running the query without schema validation, please set "
                "spark.sql.streaming.stateStore.stateSchemaCheck to false.\n"
                "However, please note that running the query with incompatible schema could cause non-deterministic "
                "behavior. SQLSTATE: XXKST\n"
                "\tat org.apache.spark.sql.execution.streaming.state.StateStoreErrors$"
                ".stateStoreKeySchemaNotCompatible(StateStoreErrors.scala:164)\n"
                "\tat org.apache.spark.sql.execution.streaming.state.StateSchemaCompatibilityChecker"
                ".check(StateSchemaCompatibilityChecker.scala:212)"))
    tp = f"{rng.choice(['bike-trips', 'taxi-trips', 'weather-data', 'accidents'])}-{rng.randint(0, 2)}"
    old_end = rng.randint(1000, 9000)
    out.append(("cause", "the exception of a failed query", "data-loss",
                "org.apache.spark.sql.kafka010.KafkaIllegalStateException: " + DATA_LOSS + " "
                + OFFSET_CHANGED.format(tp=tp, old=old_end, new=rng.randint(0, 300)) + "\n" + CHANGED_FRAMES))
    # Spark's Executor log line ("Exception in task ..."), then HotSpot's OutOfMemoryError message.
    stage, tid = rng.randint(10, 90), rng.randint(100, 900)
    out.append(("cause", "an executor's error", "heap",
                f"{w.time()} ERROR Executor: Exception in task 3.0 in stage {stage}.0 (TID {tid})\n"
                "java.lang.OutOfMemoryError: Java heap space"))

    # ------------------------------------------------------------------ root: the innermost cause decides
    host = rng.choice(["kafka:29092", "kafka-1:29092", "broker:9092"])
    # kafka-clients 3.9.2: ClientUtils warns of each address it cannot resolve, then throws ConfigException; the
    # admin client wraps it (KafkaAdminClient.createInternal); Spark's Kafka source creates the admin client
    # lazily in the query's thread, so the query ends with it (Spark 4.2 MicroBatchExecution's log line).
    out.append(("root", "a query started with KAFKA_BOOTSTRAP_SERVERS=" + host, "bad-address",
                f"{w.time()} WARN ClientUtils: Couldn't resolve server {host} from bootstrap.servers as DNS "
                f"resolution failed for {host.split(':')[0]}\n"
                + w.terminated(w.query()[0]) + "\n"
                "org.apache.kafka.common.KafkaException: Failed to create new KafkaAdminClient\n"
                "\tat org.apache.kafka.clients.admin.KafkaAdminClient.createInternal(KafkaAdminClient.java:561)\n"
                "\tat org.apache.kafka.clients.admin.Admin.create(Admin.java:147)\n"
                "\tat org.apache.spark.sql.kafka010.ConsumerStrategy.createAdmin(ConsumerStrategy.scala:49)\n"
                "\tat org.apache.spark.sql.kafka010.ConsumerStrategy.createAdmin$(ConsumerStrategy.scala:46)\n"
                "\tat org.apache.spark.sql.kafka010.SubscribeStrategy.createAdmin(ConsumerStrategy.scala:102)\n"
                "\tat org.apache.spark.sql.kafka010.KafkaOffsetReaderAdmin.admin(KafkaOffsetReaderAdmin.scala:69)\n"
                "Caused by: org.apache.kafka.common.config.ConfigException: No resolvable bootstrap urls given in "
                "bootstrap.servers\n"
                "\tat org.apache.kafka.clients.ClientUtils.parseAndValidateAddresses(ClientUtils.java:104)\n"
                "\tat org.apache.kafka.clients.ClientUtils.parseAndValidateAddresses(ClientUtils.java:63)\n"
                "\tat org.apache.kafka.clients.admin.internals.AdminBootstrapAddresses.fromConfig"
                "(AdminBootstrapAddresses.java:67)\n"
                "\tat org.apache.kafka.clients.admin.KafkaAdminClient.createInternal(KafkaAdminClient.java:530)\n"
                "\t... 5 more"))
    # The broker restarted on an empty folder: its clients warned while it was away (NetworkClient, node 1 as
    # the kit's broker is), then the topic's offsets started again from 0 and the query's next batch found its
    # partition behind its checkpoint (KAFKA_DATA_LOSS.PARTITION_OFFSET_CHANGED, raised on the driver).
    warn = f" WARN NetworkClient: {client} Connection to node 1 (/127.0.0.1:9092) could not be established. " \
           "Node may not be available."
    query, topic = w.query()
    out.append(("root", "warnings, then a failed query", "data-loss",
                "\n".join(w.time() + warn for _ in range(2)) + "\n" + w.terminated(query) + "\n"
                "org.apache.spark.sql.kafka010.KafkaIllegalStateException: " + DATA_LOSS + " "
                + OFFSET_CHANGED.format(tp=f"{topic}-{rng.randint(0, 2)}", old=old_end, new=rng.randint(0, 300))
                + "\n" + CHANGED_FRAMES))
    # Records aged out of a topic while the query was stopped: the task's consumer gets OffsetOutOfRangeException
    # (InternalKafkaConsumer.fetch), KafkaDataConsumer wraps it (COULD_NOT_READ_OFFSET_RANGE), the task fails and
    # Spark 4.2's DAGScheduler aborts the job with TaskSetManager's "Job aborted due to stage failure: Task %d in
    # stage %s failed %d times, most recent failure: %s\nDriver stacktrace:", where %s holds the task's whole trace.
    query, topic = w.query()
    tp = f"{topic}-{rng.randint(0, 2)}"
    start = rng.randint(1000, 9000)
    end = start + rng.randint(50, 400)
    group = f"spark-kafka-source-{w.uuid()}-{rng.randint(10**8, 2 * 10**9)}-executor"
    task_stage, task_tid, part = rng.randint(3, 40), rng.randint(5, 200), rng.randint(0, 3)
    lost = DATA_LOSS + " " + OFFSET_RANGE.format(start=start, end=end, tp=tp, group=group)
    cause = (OUT_OF_RANGE.format(tp=tp, start=start) + "\n" + OUT_OF_RANGE_FRAMES)
    out.append(("root", "a failed query, three exceptions deep", "data-loss",
                w.terminated(query) + "\n"
                f"org.apache.spark.SparkException: Job aborted due to stage failure: Task {part} in stage "
                f"{task_stage}.0 failed 1 times, most recent failure: Lost task {part}.0 in stage {task_stage}.0 "
                f"(TID {task_tid}) (192.0.2.2 executor driver): org.apache.spark.sql.kafka010."
                f"KafkaIllegalStateException: {lost}\n{RANGE_FRAMES}\nCaused by: {cause}\n\nDriver stacktrace:\n"
                "\tat org.apache.spark.scheduler.DAGScheduler.$anonfun$abortStage$3(DAGScheduler.scala:3318)\n"
                "\tat scala.Option.getOrElse(Option.scala:201)\n"
                "\tat org.apache.spark.scheduler.DAGScheduler.$anonfun$abortStage$2(DAGScheduler.scala:3318)\n"
                f"Caused by: org.apache.spark.sql.kafka010.KafkaIllegalStateException: {lost}\n{RANGE_FRAMES}\n"
                f"Caused by: {cause}"))

    # ------------------------------------------------------------------ unknown: none of the table's problems
    # Real: the kit's own driver log, a query whose checkpoint holds a corrupt offsets file (the kit's test of a
    # failed query writes one): jackson's JsonParseException as Spark 4.2 reads the offset log.
    out.append(("unknown", "a failed query", None,
                f"{w.time()} WARN ResolveWriteToStream: spark.sql.adaptive.enabled is not supported in streaming "
                "DataFrames/Datasets and will be disabled.\n" + w.terminated(w.query()[0]) + "\n"
                "com.fasterxml.jackson.core.JsonParseException: Unrecognized token 'this': was expecting (JSON "
                "String, Number, Array, Object or token 'null', 'true' or 'false')\n"
                " at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, "
                "column: 1]\n"
                "\tat com.fasterxml.jackson.core.JsonParser._constructReadException(JsonParser.java:2675)\n"
                "\tat com.fasterxml.jackson.core.json.ReaderBasedJsonParser._reportInvalidToken"
                "(ReaderBasedJsonParser.java:3025)\n"
                "\tat com.fasterxml.jackson.core.json.ReaderBasedJsonParser._reportInvalidToken"
                "(ReaderBasedJsonParser.java:2995)\n"
                "\tat com.fasterxml.jackson.core.json.ReaderBasedJsonParser._matchToken"
                "(ReaderBasedJsonParser.java:2760)"))
    # Real: the kit's notebook 14 driver log, a real-time query given maxOffsetsPerTrigger (KafkaMicroBatchStream).
    out.append(("unknown", "a failed query", None,
                w.terminated() + "\n"
                "java.lang.UnsupportedOperationException: maxOffsetsPerTrigger is not compatible with real time "
                "mode\n"
                "\tat org.apache.spark.sql.kafka010.KafkaMicroBatchStream.planInputPartitions"
                "(KafkaMicroBatchStream.scala:234)\n"
                "\tat org.apache.spark.sql.execution.datasources.v2.RealTimeStreamScanExec.inputPartitions$lzycompute"
                "(RealTimeStreamScanExec.scala:150)"))
    # pyspark's JAVA_GATEWAY_EXITED alone: Java ended, and the lines above it (not copied) say why.
    out.append(("unknown", "the last line of a notebook's traceback", None,
                "pyspark.errors.exceptions.base.PySparkRuntimeError: [JAVA_GATEWAY_EXITED] Java gateway process "
                "exited before sending its port number."))
    # A misspelled format, as py4j's Py4JJavaError prints it ("An error occurred while calling o57.load.\n: " and
    # the Java trace): Spark 4.2 DATA_SOURCE_NOT_FOUND (QueryExecutionErrors.dataSourceNotFoundError), caused by
    # the class loader's ClassNotFoundException for "<name>.DefaultSource" (DataSource.lookupDataSource).
    typo = rng.choice(["kafak", "kakfa", "kafka2"])
    out.append(("unknown", "the end of a notebook's traceback", None,
                f"py4j.protocol.Py4JJavaError: An error occurred while calling o{rng.randint(40, 90)}.load.\n"
                f": org.apache.spark.SparkClassNotFoundException: [DATA_SOURCE_NOT_FOUND] Failed to find the data "
                f"source: {typo}. Make sure the provider name is correct and the package is properly registered and "
                "compatible with your Spark version. SQLSTATE: 42K02\n"
                "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.dataSourceNotFoundError"
                "(QueryExecutionErrors.scala:790)\n"
                "\tat org.apache.spark.sql.execution.datasources.DataSource$.lookupDataSource(DataSource.scala:699)\n"
                f"Caused by: java.lang.ClassNotFoundException: {typo}.DefaultSource\n"
                "\tat java.base/java.net.URLClassLoader.findClass(URLClassLoader.java:445)\n"
                "\tat java.base/java.lang.ClassLoader.loadClass(ClassLoader.java:592)\n"
                "\tat java.base/java.lang.ClassLoader.loadClass(ClassLoader.java:525)\n"
                "\tat org.apache.spark.sql.execution.datasources.DataSource$.$anonfun$lookupDataSource$6"
                "(DataSource.scala:683)\n"
                "\tat scala.util.Try$.apply(Try.scala:217)\n"
                "\tat org.apache.spark.sql.execution.datasources.DataSource$.$anonfun$lookupDataSource$5"
                "(DataSource.scala:683)\n"
                "\tat scala.util.Failure.orElse(Try.scala:230)\n"
                "\tat org.apache.spark.sql.execution.datasources.DataSource$.lookupDataSource(DataSource.scala:683)\n"
                "\t... 1 more"))
    # Real: the kit's notebook 14 driver log, a real-time query's task interrupted because the query was stopped
    # (TaskSetManager's lines start with the query's short id and the batch).
    stopped, run_id = w.uuid(), w.uuid()
    stage, tid, batch = rng.randint(10, 90), rng.randint(100, 900), rng.randint(1, 9)
    out.append(("unknown", "the log of a stopped query", None,
                f"{w.time()} ERROR Utils: Aborting task\n"
                "org.apache.kafka.common.errors.InterruptException: java.lang.InterruptedException\n"
                "\tat org.apache.kafka.clients.consumer.internals.ConsumerNetworkClient.maybeThrowInterruptException"
                "(ConsumerNetworkClient.java:537)\n"
                "\tat org.apache.kafka.clients.consumer.internals.ConsumerNetworkClient.poll"
                "(ConsumerNetworkClient.java:298)\n"
                "Caused by: java.lang.InterruptedException\n"
                "\t... 51 more\n"
                f"{w.time()} WARN TaskSetManager: [queryId = {stopped[:5]}] [batchId = {batch}] Lost task 0.0 in "
                f"stage {stage}.0 (TID {tid}) (192.0.2.2 executor driver): TaskKilled (Stage cancelled: "
                f"[SPARK_JOB_CANCELLED] Job {rng.randint(3, 40)} cancelled Query [id = {stopped}, runId = {run_id}] "
                "was stopped SQLSTATE: XXKDA)"))
    # Real: warnings every kit run writes (Spark 4.2's ResolveWriteToStream and DAGScheduler).
    out.append(("unknown", "warnings of a run that went well", None,
                f"{w.time()} WARN ResolveWriteToStream: spark.sql.adaptive.enabled is not supported in streaming "
                "DataFrames/Datasets and will be disabled.\n"
                f"{w.time()} WARN DAGScheduler: Failed to cancel job group {w.uuid()}. Cannot find active jobs "
                "for it."))
    return [(need, label, want, text) for need, label, want, text in out]


@exercise("diagnose", "09", "Which problem a driver log shows, read from the innermost cause",
          ["troubleshooting"], requirements={
              "cause": "returns the id of the problem",
              "root": "the problem is the one the innermost cause names",
              "unknown": "shows none of the table's problems returns `None`, not a guess"})
def cases(ctx: Context) -> list[Case]:
    hints = {
        "cause": "an excerpt without frames is read whole, every line of it; look up the words of each problem, "
                 "in the table's order, and return the id of the first problem whose words are there",
        "root": "Spark wraps errors: the first lines say where the failure surfaced, the innermost cause (the last "
                "`Caused by:`, or without one the exception below the last log line) names what went wrong; "
                "warnings above the trace are not the cause",
        "unknown": "when no problem of the table is named, return None: a guess sends the reader to the wrong fix",
    }
    out = []
    for i, (need, label, want, text) in enumerate(excerpts(ctx.seed(37))):
        def judge(seen, want=want):
            expect("returned" in seen, str(seen.get("described")))
            got = seen["returned"]
            expect(got == want and (got is None) == (want is None),
                   f"returned {shown(got)}, expected {want!r}")
        excerpt = "\n".join("    | " + line.expandtabs(4) for line in text.splitlines())
        out.append(Case(f"{label}, diagnose(log) with log = (a tab shown as 4 spaces)\n{excerpt}\n ",
                        lambda fn, text=text: outcome(lambda: fn(text)), judge, hints[need],
                        {"cause": 0, "root": 100, "unknown": 200}[need] + i, need))
    return out
