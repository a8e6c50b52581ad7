"""etl_lib.state on the real broker and real Spark: the state reader against the progress records, the provider a
checkpoint keeps, IdleStations against session_window, and the Kafka sink replaying a batch whose commit is lost."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from etl_lib.core.errors import ConfigError
from etl_lib.core.kafka import create_topics, spark_kafka_options
from etl_lib.lab.notebook import bike_trip, send_json
from etl_lib.parsing import parse_bike_stream
from etl_lib.spark import read_kafka_batch, read_kafka_stream
from etl_lib.state import (PROVIDERS, RUN_SCHEMA, IdleStations, forget_last_commit, read_state, route_records,
                           sessions_as_runs, state_metadata, state_operators, state_provider, use_state_store,
                           write_batch_once)


@pytest.fixture
def default_provider(spark):
    """Each test starts and ends with Spark's default state store."""
    use_state_store(spark, "hdfs")
    yield
    use_state_store(spark, "hdfs")


def _run(df, checkpoint, sink=None):
    writer = df.writeStream.outputMode("append").option("checkpointLocation", str(checkpoint))
    query = writer.foreachBatch(sink or (lambda batch_df, batch: batch_df.count())).trigger(availableNow=True).start()
    query.awaitTermination(120)
    return query


@pytest.mark.timeout(240)
@pytest.mark.parametrize("provider", ["hdfs", "rocksdb"])
def test_the_state_reader_holds_numRowsTotal_rows_after_every_batch(spark, settings, default_provider, provider):
    topic = f"state-reader-{provider}"
    create_topics(settings, [topic], partitions=2)
    use_state_store(spark, provider)
    counts = (parse_bike_stream(read_kafka_stream(spark, topic, settings, starting_offsets="earliest"))
              .withWatermark("event_time", "10 minutes").groupBy(F.window("event_time", "15 minutes")).count())
    checkpoint = settings.data_dir / "checkpoints" / f"state_reader_{provider}"
    held = []
    for n, times in enumerate([["08:01", "08:16"], ["08:17", "08:31"], ["08:47", "09:20"]]):
        send_json(settings.kafka_bootstrap_servers, topic,
                  [bike_trip(10 * n + i, f"2018-04-02 {t}:00") for i, t in enumerate(times)], settings)
        ops = state_operators(_run(counts, checkpoint))
        for _, op in ops.iterrows():
            assert read_state(spark, checkpoint, batch_id=int(op["batch"])).count() == op["rows"]
        held.append(int(ops["rows"].iloc[-1]))
    assert held == [2, 2, 1]  # after round 3 the watermark (09:10) has evicted every window but 09:15
    assert state_provider(checkpoint) == provider
    assert state_metadata(spark, checkpoint)["operatorName"].tolist() == ["stateStoreSave"]
    deleted = read_state(spark, checkpoint, changes_from=0).where("change_type = 'delete'").count()
    assert deleted == 4  # 08:00 after round 2; 08:15, 08:30 and 08:45 after round 3


@pytest.mark.timeout(120)
def test_a_restart_keeps_the_checkpoints_provider_and_bad_inputs_are_named(spark, settings, default_provider, tmp_path):
    topic = "state-provider-restart"
    create_topics(settings, [topic], partitions=1)
    send_json(settings.kafka_bootstrap_servers, topic, [bike_trip(1, "2018-04-02 08:00:00")], settings)
    counts = (parse_bike_stream(read_kafka_stream(spark, topic, settings, starting_offsets="earliest"))
              .withWatermark("event_time", "10 minutes").groupBy(F.window("event_time", "15 minutes")).count())
    checkpoint = settings.data_dir / "checkpoints" / "state_provider_restart"
    use_state_store(spark, "rocksdb")
    _run(counts, checkpoint)
    use_state_store(spark, "hdfs")
    send_json(settings.kafka_bootstrap_servers, topic, [bike_trip(2, "2018-04-02 08:30:00")], settings)
    query = _run(counts, checkpoint)
    assert spark.conf.get("spark.sql.streaming.stateStore.providerClass") == PROVIDERS["hdfs"]
    assert any(k.startswith("rocksdb") for k in query.lastProgress["stateOperators"][0]["customMetrics"])
    assert state_provider(checkpoint) == "rocksdb"
    with pytest.raises(ConfigError, match="holds no state"):
        read_state(spark, tmp_path)
    with pytest.raises(ConfigError, match="unknown state store provider 'memory'"):
        use_state_store(spark, "memory")


@pytest.mark.timeout(300)
def test_idle_stations_finds_the_runs_session_window_finds_across_restarts(spark, settings, default_provider):
    topic = "state-idle-stations"
    create_topics(settings, [topic], partitions=1)
    use_state_store(spark, "rocksdb")
    trips = (parse_bike_stream(read_kafka_stream(spark, topic, settings, starting_offsets="earliest"))
             .select("start_station_id", "event_time").withWatermark("event_time", "10 minutes"))
    runs = trips.groupBy("start_station_id").transformWithStateInPandas(
        IdleStations(30), RUN_SCHEMA, outputMode="Append", timeMode="EventTime")
    out = {"processor": [], "sessions": []}

    def at(n, station, hhmm):
        return {**bike_trip(n, f"2018-04-02 {hhmm}:00"), "start_station_id": station}

    rounds = [[at(1, 10, "08:00"), at(2, 10, "08:20"), at(3, 11, "08:05")],
              [at(4, 10, "08:40"), at(5, 11, "09:10")],
              [at(6, 11, "10:00")]]
    for trips_now in rounds:
        send_json(settings.kafka_bootstrap_servers, topic, trips_now, settings)
        for name, df in (("processor", runs), ("sessions", sessions_as_runs(trips, 30))):
            _run(df, settings.data_dir / "checkpoints" / f"idle_{name}",
                 lambda batch_df, batch, name=name: out[name].extend(
                     (r["station"], r["first_trip"].strftime("%H:%M"), r["last_trip"].strftime("%H:%M"), r["trips"])
                     for r in batch_df.collect()))
    assert sorted(out["processor"]) == sorted(out["sessions"]) == [
        (10, "08:00", "08:40", 3), (11, "08:05", "08:05", 1), (11, "09:10", "09:10", 1)]
    held = read_state(spark, settings.data_dir / "checkpoints" / "idle_processor", state_var="run").collect()
    assert [(r["key"]["start_station_id"], r["value"]["trips"]) for r in held] == [(11, 1)]


@pytest.mark.timeout(180)
def test_a_lost_commit_makes_the_kafka_sink_write_twice_and_the_batch_id_writer_once(spark, settings):
    source, out = "state-sink-in", "state-sink-out"
    create_topics(settings, [source, out], partitions=1)
    folder = settings.data_dir / "state_sink_files"
    to_kafka = (route_records(read_kafka_stream(spark, source, settings, starting_offsets="earliest"), "bike", out, out)
                .writeStream.format("kafka").options(**spark_kafka_options(settings))
                .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
                .option("checkpointLocation", str(settings.data_dir / "checkpoints" / "state_sink_kafka")))
    to_files = (parse_bike_stream(read_kafka_stream(spark, source, settings, starting_offsets="earliest"))
                .select("trip_id").writeStream.foreachBatch(write_batch_once(folder))
                .option("checkpointLocation", str(settings.data_dir / "checkpoints" / "state_sink_files")))

    def run_both():
        for writer in (to_kafka, to_files):
            writer.trigger(availableNow=True).start().awaitTermination(120)

    for first, last in ((0, 6), (6, 10)):
        send_json(settings.kafka_bootstrap_servers, source, [bike_trip(n, "2018-04-02 08:00:00")
                                                             for n in range(first, last)], settings,
                  keys=[f"b{n}" for n in range(first, last)])
        run_both()
    send_json(settings.kafka_bootstrap_servers, source, [{"trip_id": "broken"}], settings, keys=["broken"])
    run_both()  # batch 2: one malformed record, routed and quarantined, not written to the files
    assert forget_last_commit(settings.data_dir / "checkpoints" / "state_sink_kafka") == 2
    assert forget_last_commit(settings.data_dir / "checkpoints" / "state_sink_files") == 2
    run_both()
    records = read_kafka_batch(spark, out, settings)
    assert records.count() == 12 and records.select("key").distinct().count() == 11  # the broken one twice
    reasons = records.select(F.get_json_object(F.col("value").cast("string"), "$.reason").alias("r")).where("r is not null")
    assert reasons.count() == 2
    assert spark.read.parquet(str(folder)).count() == 10
    with pytest.raises(ConfigError, match="no committed batch"):
        forget_last_commit(settings.data_dir / "checkpoints" / "never_ran")
