"""The Spark ETL on the real broker: exact raw/quarantine counts, reruns on checkpoints,
streaming = batch for every analytic, the answer key recovered, flags, and the watermark."""

from __future__ import annotations

import json
import re
import uuid

import pandas as pd
import pytest

from data_gen import GenParams, KafkaSink, generate
from data_gen.records import TOPICS
from etl_lib.analytics import calculate_weather_transport_correlation
from etl_lib.commit_log import read_sink
from etl_lib.config import ANALYTICS_FLAGS
from etl_lib.core.kafka import create_topics
from etl_lib.main import ANALYTICS, build_analytic, build_streams, run_etl
from etl_lib.report import check_answer_key, summaries, write_report
from etl_lib.schemas import validate_record
from etl_lib.spark import read_kafka_batch
from etl_lib.writers import RAW_QUERY, TOPIC_FOLDERS, write_analytics_stream

QUIET = lambda *_: None  # noqa: E731

# Key columns of each analytics output: rows are compared on these.
KEYS = {
    "weather_transport_correlation": ["window_start"],
    "weather_safety_analysis": ["window_start"],
    "surge_weather_correlation": ["group_start", "precip_category"],
    "transport_usage_summary": ["window_start"],
    "pearson_correlations": ["group_start", "x_name", "y_name"],
    "weather_binned_metrics": ["group_start", "temp_bin", "precip_category"],
    "precipitation_impact": ["group_start", "precip_category"],
    "temporal_correlations": ["group_start", "day_type", "period", "x_name", "y_name"],
    "multi_variable_summary": ["group_start"],
    "realtime_transport_usage": ["window_start"],
    "sliding_transport_usage": ["window_start"],
}


def _own_topics(settings, tmp, **flags):
    """Settings with a fresh DATA_DIR and topics of its own, so tests do not see each other's records."""
    suffix = uuid.uuid4().hex[:8]
    s = settings.replace(data_dir=tmp, **{f"kafka_topic_{t}": f"{t}-{suffix}" for t in TOPICS}, **flags)
    create_topics(s, s.kafka_topics.values(), 3)
    return s


@pytest.fixture(scope="module")
def etl(spark, settings, tmp_path_factory):
    """One full ETL run (the raw query writing every raw table, quarantine and the events table; the silver events
    and windows; 11 analytics) over a simulated week."""
    s = _own_topics(settings, tmp_path_factory.mktemp("etl"))
    key = generate(GenParams(days=7, scale=0.25, seed=7), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
    run = run_etl(spark, s, available_now=True, echo=QUIET)
    return s, key, run


def _count(spark, path):
    return spark.read.parquet(str(path)).count()


def test_every_stream_started_and_finished(etl):
    _, _, run = etl
    assert len(run.queries) == 1 + 2 + len(ANALYTICS) == 14  # the raw query, silver events and windows, analytics
    assert not run.failed()


def test_each_topic_is_read_from_kafka_once(etl):
    """Only the raw query reads Kafka (each topic once, every record once); every other query reads a Parquet table
    of the layer before (the events table, the silver events, the silver windows)."""
    s, key, run = etl
    reads = run.rows_read()
    assert [name for name, r in reads.items() if r["kafka"]] == [RAW_QUERY]
    assert reads[RAW_QUERY]["kafka"] == sum(c["produced"] for c in key["counts"].values())
    assert run.topic_reads() == {s.kafka_topics[t]: {"queries": 1, "records": key["counts"][t]["produced"]}
                                 for t in TOPIC_FOLDERS}
    assert all(r["files"] > 0 for name, r in reads.items() if name != RAW_QUERY), reads


def test_raw_and_quarantine_counts_are_exact(etl, spark):
    s, key, _ = etl
    for t, folder in TOPIC_FOLDERS.items():
        counts = key["counts"][t]
        raw = s.output_base_path / folder
        assert _count(spark, raw) == counts["valid"], t
        assert len(read_sink(raw, columns=["year"])) == counts["valid"], t
        assert _count(spark, s.quarantine_path / folder) == counts["quarantined"], t


def test_raw_is_partitioned_by_event_time(etl, spark):
    s, _, _ = etl
    hours = sorted((s.output_base_path / "bike_trips").glob("year=2018/month=4/date=2018-04-0*/hour=*"))
    assert len(hours) > 24
    df = spark.read.parquet(str(s.output_base_path / "bike_trips"))
    bad = df.where("hour(start_time) != hour or date_format(start_time, 'yyyy-MM-dd') != date").count()
    assert bad == 0


def test_quarantine_keeps_raw_value_reason_and_coordinates(etl, spark):
    s, key, _ = etl
    rows = spark.read.parquet(str(s.quarantine_path / "taxi_trips")).collect()
    assert len(rows) == key["counts"]["taxi"]["quarantined"] > 0
    for r in rows:
        assert r.kafka_topic == s.kafka_topic_taxi and r.kafka_offset >= 0 and r.reason
        assert r.reason == validate_record("taxi", r.raw_value.encode()).reason
    reasons = {r.reason.split(":")[0] for r in rows}
    assert {"not valid JSON", "missing required field", "wrong type", "impossible value", "bad timestamp"} <= reasons


def _pandas(df) -> pd.DataFrame:
    return df.toPandas()


def test_each_analytic_equals_its_batch_version(etl, batch_streams):
    s, _, _ = etl
    batch = batch_streams(s)
    for a in ANALYTICS:
        streamed = read_sink(s.analytics_output_path / a.name)
        expected = _pandas(build_analytic(a, batch, s))
        keys = KEYS[a.name]
        merged = streamed.merge(expected, on=keys, how="left", suffixes=("", "_batch"), indicator=True)
        assert (merged["_merge"] == "both").all(), f"{a.name}: streamed rows missing from batch"
        for col in streamed.columns:
            if col in keys:
                continue
            left, right = merged[col], merged[f"{col}_batch"]
            if pd.api.types.is_float_dtype(left):
                # Sums of doubles may differ in the last bits (another summation order); nulls must match.
                close = (left - right).abs() <= 1e-6 * right.abs().clip(lower=1)
                assert (close | (left.isna() & right.isna())).all(), (a.name, col)
            else:
                assert (left == right).all(), (a.name, col)
        # Streaming leaves only the last windows open (the watermark has not passed them).
        time_key = keys[0]
        missing = expected.merge(streamed[keys], on=keys, how="left", indicator=True)
        missing = missing[missing["_merge"] == "left_only"]
        assert len(streamed) > 0.9 * len(expected), a.name
        if len(missing):
            assert missing[time_key].min() >= streamed[time_key].max() - pd.Timedelta(hours=2), a.name


def test_report_draws_every_plot_it_names(etl, tmp_path):
    s, key, _ = etl
    answer_key = tmp_path / "answer_key.json"
    answer_key.write_text(json.dumps(key))
    page = write_report(s, answer_key)
    html = page.read_text()
    images = re.findall(r"<img src='([^']+)'", html)
    assert {"transport_usage_summary.png", "short_and_sliding_windows.png", "precipitation_impact.png"} <= set(images)
    for name in images:
        assert (page.parent / name).stat().st_size > 5_000, name  # a drawn figure, not an empty canvas
    assert "measurable" in html


def test_answer_key_recovered(etl):
    s, key, _ = etl
    sums = summaries(s)
    check = check_answer_key(sums, key)
    measurable = check[check["measurable"]]
    assert len(measurable) >= 10
    assert measurable["within_tolerance"].astype(bool).all(), measurable.to_string()
    binned = sums["weather_binned_metrics"].set_index(["temp_bin", "precip_category"])
    for cell in key["binned"]:
        got = binned.loc[(cell["temp_bin"], cell["precip_category"])]
        assert abs(got["mean_bike_count"] / cell["mean_bike_count"] - 1) <= cell["relative_tolerance"], cell
    multi = sums["multi_variable_summary"]
    assert abs(multi["mean_bike_count_per_window"] / key["multi_variable"]["mean_bike_count_per_window"] - 1) < 0.05
    usage = sums["transport_usage_summary"]
    weekday = usage[usage["day_type"] == "weekday"]
    assert int(weekday.loc[weekday["bikes_per_day"].idxmax(), "hour_of_day"]) in key["usage"][
        "weekday_bike_peak_expected_in"]


def test_rerun_adds_nothing_then_exactly_the_new_rows(etl, spark):
    s, key, _ = etl
    raw_only = s.replace(**{flag.lower(): False for flag in ANALYTICS_FLAGS})
    run = run_etl(spark, raw_only, available_now=True, echo=QUIET)
    assert set(run.queries) == {RAW_QUERY}  # it writes every raw table and quarantine
    bike_raw, bike_q = s.output_base_path / "bike_trips", s.quarantine_path / "bike_trips"
    assert _count(spark, bike_raw) == key["counts"]["bike"]["valid"]
    assert _count(spark, bike_q) == key["counts"]["bike"]["quarantined"]

    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
    for i in range(40):
        rec = {"trip_id": f"new-{i}", "trip_duration": 600, "start_time": "2018-04-09 12:00:00",
               "stop_time": "2018-04-09 12:10:00", "start_station_id": 3, "end_station_id": 4}
        producer.send(s.kafka_topic_bike, key=b"3", value=json.dumps(rec).encode())
    for bad in (b"{oops", b'{"trip_id": "x"}', b"not json"):
        producer.send(s.kafka_topic_bike, value=bad)
    producer.flush()
    producer.close()
    run_etl(spark, raw_only, available_now=True, echo=QUIET)
    assert _count(spark, bike_raw) == key["counts"]["bike"]["valid"] + 40
    assert _count(spark, bike_q) == key["counts"]["bike"]["quarantined"] + 3


def test_flag_off_stream_not_started_and_folder_not_written(spark, settings, tmp_path):
    only = {flag.lower(): flag == "ENABLE_WEATHER_TRANSPORT_CORRELATION" for flag in ANALYTICS_FLAGS}
    s = _own_topics(settings, tmp_path, **only)
    generate(GenParams(days=1, scale=0.05, seed=1), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
    run = run_etl(spark, s, available_now=True, echo=QUIET)
    analytics_started = set(run.queries) & {a.name for a in ANALYTICS}
    assert analytics_started == {"weather_transport_correlation"}
    written = {p.name for p in s.analytics_output_path.iterdir()}
    assert written == {"weather_transport_correlation"}
    assert not (s.analytics_checkpoint_path / "pearson_correlations").exists()


def _send(s, topic, records):
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
    for rec in records:
        producer.send(topic, value=json.dumps(rec).encode())
    producer.flush()
    producer.close()


def _weather(ts):
    return {"timestamp": ts, "temperature": 10.0, "precip_intensity": 0.0}


def _bike(n, ts):
    return {"trip_id": f"b{n}", "trip_duration": 300, "start_time": ts, "stop_time": ts, "start_station_id": 3,
            "end_station_id": 4}


def test_events_later_than_the_watermark_are_left_out(spark, settings, tmp_path):
    """Watermark = latest event time seen minus WATERMARK_DELAY (10 minutes), updated between micro-batches."""
    s = _own_topics(settings, tmp_path)

    def run_once():
        streams = build_streams(spark, s)
        q = write_analytics_stream(calculate_weather_transport_correlation(streams["combined"]), "wtc", "append", s,
                                   available_now=True)
        q.awaitTermination()
        assert q.exception() is None

    # Batch 1: 08:00-09:00 weather every 5 minutes, one bike per window. Watermark after it: 08:50.
    _send(s, s.kafka_topic_weather, [_weather(f"2018-04-02 08:{m:02d}:00") for m in range(0, 60, 5)])
    _send(s, s.kafka_topic_bike, [_bike(i, f"2018-04-02 08:{m:02d}:30") for i, m in enumerate((1, 16, 31, 46))])
    run_once()
    first = read_sink(s.analytics_output_path / "wtc").set_index("window_start")["bike_count"].sort_index()
    assert list(first.index.strftime("%H:%M")) == ["08:00", "08:15", "08:30"], "08:45 stays open (watermark 08:50)"
    # Batch 2: a bike at 08:20 (its window was emitted; older than the watermark: left out),
    # a bike at 08:55 (newer than the watermark: counted), and weather up to 09:30 to move the watermark on.
    _send(s, s.kafka_topic_bike, [_bike(10, "2018-04-02 08:20:00"), _bike(11, "2018-04-02 08:55:00")])
    _send(s, s.kafka_topic_weather, [_weather(f"2018-04-02 09:{m:02d}:00") for m in range(0, 35, 5)])
    run_once()
    rows = read_sink(s.analytics_output_path / "wtc").set_index("window_start")["bike_count"]
    assert rows.index.is_unique, "a window is written once, never again"
    at = lambda hm: int(rows[pd.Timestamp(f"2018-04-02 {hm}:00")])  # noqa: E731
    assert at("08:15") == 1, "the late 08:20 bike is left out"
    assert at("08:45") == 2, "the 08:55 bike arrived before the watermark passed its window"
    # The same data in batch counts the late bike: this is what the watermark trades away.
    batch = calculate_weather_transport_correlation(build_streams(spark, s, read=read_kafka_batch)["combined"])
    assert batch.where("window_start = timestamp'2018-04-02 08:15:00'").first()["bike_count"] == 2


@pytest.mark.soak
def test_a_changed_window_still_recovers_the_answer_key(spark, settings, tmp_path):
    """WINDOW_DURATION_MEDIUM=30 minutes: the analytics and the key use the same windows, so the key holds."""
    s = _own_topics(settings, tmp_path, window_duration_medium="30 minutes")
    key = generate(GenParams(days=7, scale=0.25, seed=7), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics),
                   windows=(s.window_duration_medium, s.window_duration_long))
    assert key["multi_variable"]["window"] == "30 minutes"
    run_etl(spark, s, available_now=True, echo=QUIET)
    check = check_answer_key(summaries(s), key)
    measurable = check[check["measurable"]]
    assert len(measurable) >= 8
    assert measurable["within_tolerance"].astype(bool).all(), measurable.to_string()


def test_duplicate_events_are_counted_once_by_the_analytics(spark, settings, tmp_path):
    """5% of the records are sent twice: the raw Parquet keeps both copies (what arrived), and every emitted
    window counts each event once, exactly the answer key's per-window counts."""
    from data_gen import Simulation, window_table

    only = {flag.lower(): flag == "ENABLE_WEATHER_TRANSPORT_CORRELATION" for flag in ANALYTICS_FLAGS}
    s = _own_topics(settings, tmp_path, **only)
    params = GenParams(days=2, scale=0.1, seed=21, late_fraction=0.0, duplicate_fraction=0.05,
                       malformed_fraction=0.0)
    key = generate(params, KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
    assert key["counts"]["bike"]["duplicates"] > 10 and key["counts"]["taxi"]["duplicates"] > 10
    run_etl(spark, s, available_now=True, echo=QUIET)
    assert _count(spark, s.output_base_path / "bike_trips") == key["counts"]["bike"]["valid"]
    sim = Simulation(params)
    for _ in sim.deliveries():
        pass
    truth = window_table(sim)
    rows = read_sink(s.analytics_output_path / "weather_transport_correlation")
    assert len(rows) > 0.9 * len(truth)
    for r in rows.itertuples():
        want = truth[r.window_start.to_pydatetime()]
        assert (r.bike_count, r.taxi_count) == (want["bike_count"], want["taxi_count"]), r.window_start


def _forget_newest_commit(checkpoint) -> None:
    """The state a kill in the middle of a batch leaves: its offsets recorded, its commit not written."""
    commits = sorted((p for p in (checkpoint / "commits").iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    commits[-1].unlink()
    (checkpoint / "commits" / f".{commits[-1].name}.crc").unlink(missing_ok=True)


@pytest.mark.soak
def test_restarting_either_stage_repeats_no_window(spark, settings, tmp_path, batch_streams):
    """Silver (the windows) and gold (analytics over them) each restart from their own checkpoint: a rerun with
    no new data adds nothing, a batch redone after a crash in either stage adds nothing, new data adds its
    windows once, and the gold rows stay the batch computation's."""
    from data_gen import Simulation
    from etl_lib.analytics import SILVER_WINDOWS
    from etl_lib.main import SILVER_QUERY

    gold = ("weather_transport_correlation", "pearson_correlations")
    flags = {a.flag.lower(): a.name in gold for a in ANALYTICS}
    s = _own_topics(settings, tmp_path, **flags)
    # One simulated world of two days, sent a day at a time (no late records: a record of day 1 arriving with
    # day 2 would be later than the first run's watermark, dropped by the stream and counted by the batch).
    deliveries = list(Simulation(GenParams(days=2, scale=0.05, seed=31, late_fraction=0.0)).deliveries())

    def send(part):
        sink = KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics)
        for d in part:
            sink.send(d)
        sink.close()

    send([d for d in deliveries if d.at < 86400])
    silver_path = s.silver_path / SILVER_WINDOWS

    def rows():
        return {"silver": read_sink(silver_path), **{g: read_sink(s.analytics_output_path / g) for g in gold}}

    run = run_etl(spark, s, available_now=True, echo=QUIET)
    assert SILVER_QUERY in run.queries and set(gold) <= set(run.queries)
    first = rows()
    assert len(first["silver"]) > 50 and all(len(v) for v in first.values())
    run_etl(spark, s, available_now=True, echo=QUIET)
    assert {k: len(v) for k, v in rows().items()} == {k: len(v) for k, v in first.items()}, "a rerun added rows"

    # A second day arrives; the silver query is "killed" after its batch wrote files but before it committed,
    # then the gold query is too: each redoes its batch from its own offset log, nothing twice.
    send([d for d in deliveries if d.at >= 86400])
    run_etl(spark, s, available_now=True, echo=QUIET)
    _forget_newest_commit(s.analytics_checkpoint_path / SILVER_QUERY)
    _forget_newest_commit(s.analytics_checkpoint_path / "pearson_correlations")
    run_etl(spark, s, available_now=True, echo=QUIET)
    after = rows()
    assert len(after["silver"]) > len(first["silver"]) + 50
    assert not after["silver"].duplicated(["window_start"]).any()
    assert not after["weather_transport_correlation"].duplicated(["window_start"]).any()
    assert not after["pearson_correlations"].duplicated(KEYS["pearson_correlations"]).any()
    batch = batch_streams(s)
    expected = {a.name: build_analytic(a, batch, s).toPandas() for a in ANALYTICS if a.name in gold}
    for g in gold:
        merged = after[g].merge(expected[g], on=KEYS[g], how="left", suffixes=("", "_batch"), indicator=True)
        assert (merged["_merge"] == "both").all(), g
        count = "bike_count" if g == "weather_transport_correlation" else "n"
        assert (merged[count] == merged[f"{count}_batch"]).all(), g


def test_one_impossible_event_time_stops_no_analytic(spark, settings, tmp_path):
    """Watermark poisoning: a bike trip stamped 9999-12-31 is valid JSON with a valid time.  Let through, it
    would carry every watermark to the year 9999, and every window of every later day would be late: silver and
    the analytics would gain nothing, silently.  It is quarantined with its reason instead (EVENT_TIME_MAX_AHEAD),
    and a normal day sent after it reaches every analytic."""
    from datetime import datetime

    s = _own_topics(settings, tmp_path)
    generate(GenParams(days=1, scale=0.05, seed=3, start=datetime(2018, 4, 2)),
             KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
    _send(s, s.kafka_topic_bike, [_bike("poison", "9999-12-31 23:59:59")])
    run_etl(spark, s, available_now=True, echo=QUIET)
    first = {a.name: len(read_sink(s.analytics_output_path / a.name)) for a in ANALYTICS}
    generate(GenParams(days=1, scale=0.05, seed=4, start=datetime(2018, 4, 3)),
             KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
    run_etl(spark, s, available_now=True, echo=QUIET)
    second = {a.name: len(read_sink(s.analytics_output_path / a.name)) for a in ANALYTICS}
    stalled = [name for name in second if second[name] <= first[name]]
    assert not stalled, ("analytics that gained no rows from the second day", first, second)
    quarantine = read_sink(s.quarantine_path / "bike_trips")
    poisoned = quarantine[quarantine["raw_value"].str.contains("9999-12-31")]
    assert len(poisoned) == 1
    assert poisoned["reason"].iloc[0].startswith(
        "event time after arrival: start_time=9999-12-31 23:59:59 is more than EVENT_TIME_MAX_AHEAD (1 hour)")
    assert bytes(poisoned["raw_bytes"].iloc[0]) == poisoned["raw_value"].iloc[0].encode()
