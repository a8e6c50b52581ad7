"""The live lesson's loop, headless and short: a replay into Kafka while a windowed query runs on a
processing-time trigger, a chart redrawn per batch, and nothing left running afterwards."""

from __future__ import annotations

import threading
import time
import uuid

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from data_gen import GenParams  # noqa: E402
from data_gen.records import TOPICS  # noqa: E402
from etl_lib.analytics import SILVER_WINDOWS  # noqa: E402
from etl_lib.commit_log import read_sink, rows_per_batch  # noqa: E402
from etl_lib.core.kafka import create_topics, end_offsets  # noqa: E402
from data_gen.replay import start_replay  # noqa: E402
from etl_lib.lab.live import (LiveChart, ProgressListener, progress_records, progress_table, watch,  # noqa: E402
                              watermark_rule)
from etl_lib.main import build_streams  # noqa: E402
from etl_lib.writers import write_silver_stream  # noqa: E402

pytestmark = pytest.mark.timeout(300)


def _own(settings, tmp):
    suffix = uuid.uuid4().hex[:8]
    s = settings.replace(data_dir=tmp, batch_interval="1 second",
                         **{f"kafka_topic_{t}": f"{t}-{suffix}" for t in TOPICS})
    create_topics(s, s.kafka_topics.values(), 3)
    return s


def test_live_loop_redraws_per_batch_and_leaves_nothing_running(spark, settings, tmp_path):
    s = _own(settings, tmp_path)
    threads_before = set(threading.enumerate())
    sink = s.silver_path / SILVER_WINDOWS
    windows = build_streams(spark, s)["combined"]
    chart = LiveChart(trigger_seconds=1.0)
    replay = start_replay(GenParams(days=1, scale=0.03, seed=5), s, speedup=86400 / 8)  # a day in 8 s
    query = None
    enough = threading.Event()

    def redraw(records):
        chart.update(progress_table(records, rows_per_batch(sink)))
        if len(records) >= 4 and replay.finished:
            enough.set()  # ends the watch early: the test needs a few batches, not the whole bound

    events = ProgressListener.of(spark)  # before the start: the listener also hears onQueryStarted
    try:
        query = write_silver_stream(windows, SILVER_WINDOWS, s)
        records = watch(query, 120, on_batch=redraw, stop=enough)
    finally:
        if query is not None:
            query.stop()
        replay.stop()
    records = progress_records(query, records)
    assert not query.isActive and not replay.thread.is_alive()
    deadline = time.monotonic() + 10
    while not events.of_query(query.id, "terminated") and time.monotonic() < deadline:
        events.wait_for(len(events.events), 0.5)  # the bus delivers onQueryTerminated shortly after the stop
    kinds = [e["event"] for e in events.of_query(query.id)]
    assert kinds[0] == "started" and kinds[-1] == "terminated", kinds
    assert kinds.count("progress") >= len(records) - 1, "the chart was fed by the listener's progress events"
    assert set(threading.enumerate()) <= threads_before | {t for t in threading.enumerate() if t.daemon}, \
        "no non-daemon thread left by the replay"
    assert enough.is_set(), "the replay finished and several batches ran within the bound"
    assert len(records) >= 4 and chart.redraws >= 2, "several batches, a redraw after each new one"

    # The same query from its checkpoint, available-now: what the live run did not commit, once.
    drain = write_silver_stream(windows, SILVER_WINDOWS, s, available_now=True)
    drain.awaitTermination(120)
    table = progress_table(progress_records(drain, records), rows_per_batch(sink))
    assert table["batch"].tolist() == list(range(len(table))), "no batch missing between the runs"
    topics = [s.kafka_topic_bike, s.kafka_topic_taxi, s.kafka_topic_weather]
    in_kafka = sum(sum(p.values()) for p in end_offsets(s, topics).values())
    assert table["input_rows"].sum() == in_kafka > 0
    marked = table.dropna(subset=["watermark"])
    assert marked["watermark"].is_monotonic_increasing
    assert (marked["watermark"] == watermark_rule(table, s.watermark_delay)[marked.index]).all()
    assert table["rows_written"].sum() == len(read_sink(sink)) > 0
    assert table["state_rows"].max() > 0
    assert not spark.streams.active


def test_a_replay_stopped_early_reports_what_it_sent(settings, tmp_path):
    s = _own(settings, tmp_path)
    replay = start_replay(GenParams(days=1, scale=0.05, seed=6), s, speedup=86400 / 60)  # a day in 60 s
    threading.Event().wait(1.5)
    replay.stop()
    assert not replay.thread.is_alive() and not replay.finished
    sent = replay.result["sent"]
    in_kafka = sum(sum(p.values()) for p in end_offsets(s, s.kafka_topics.values()).values())
    assert 0 < sent == in_kafka, "every record it reports as sent is in Kafka, and only those"


def test_a_replay_to_an_unreachable_broker_raises_at_join(settings, tmp_path):
    s = settings.replace(data_dir=tmp_path, kafka_bootstrap_servers="127.0.0.1:1")
    replay = start_replay(GenParams(days=1, scale=0.01, seed=1), s, speedup=None)
    with pytest.raises(Exception) as err:
        replay.join(60)
    assert "127.0.0.1:1" in str(err.value)
