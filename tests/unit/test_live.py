"""Progress records as a table and a chart (no JVM: records in the JSON shape Spark writes them)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from etl_lib.lab.live import (PROGRESS_COLUMNS, batch_of_offsets, draw_progress, progress_table,  # noqa: E402
                              watermark_rule)


def _record(batch, started, rows, watermark, max_event=None, state=(), written=-1):
    p = {"batchId": batch, "timestamp": started, "numInputRows": rows, "inputRowsPerSecond": rows / 2.0,
         "processedRowsPerSecond": rows / 1.0, "durationMs": {"triggerExecution": 1500},
         "eventTime": {"watermark": watermark} | ({"max": max_event} if max_event else {}),
         "stateOperators": [{"numRowsTotal": n, "numRowsDroppedByWatermark": d} for n, d in state],
         "sink": {"numOutputRows": written}}
    return json.dumps(p)  # pyspark's progress objects expose the same text as .json


RECORDS = [
    _record(0, "2026-01-01T10:00:00.000Z", 30, "1970-01-01T00:00:00.000Z", "2018-04-02T08:20:00.000Z", [(5, 0)]),
    _record(1, "2026-01-01T10:00:04.000Z", 50, "2018-04-02T08:10:00.000Z", "2018-04-02T09:05:00.000Z",
            [(9, 1), (4, 0)]),
    _record(2, "2026-01-01T10:00:08.500Z", 0, "2018-04-02T08:55:00.000Z", state=[(2, 0)]),
]


def test_one_row_per_batch_with_the_fields_a_student_reads():
    table = progress_table(RECORDS + RECORDS[1:2])  # a record seen twice (two polls) counts once
    assert list(table.columns) == PROGRESS_COLUMNS
    assert table["batch"].tolist() == [0, 1, 2]
    assert table["seconds"].tolist() == [0.0, 4.0, 8.5]
    assert table["duration_s"].tolist() == [1.5, 1.5, 1.5]
    assert pd.isna(table["watermark"][0]), "Spark's 1970-01-01 before the first watermark is shown as none"
    assert table["watermark"][1] == pd.Timestamp("2018-04-02 08:10")
    assert pd.isna(table["max_event_time"][2]), "a batch that read nothing has no event time"
    assert table["state_rows"].tolist() == [5, 13, 2], "summed over every stateful operator"
    assert table["dropped_by_watermark"].tolist() == [0, 1, 0]
    assert table["rows_written"].isna().all(), "a file sink reports -1: unknown, not zero"


def test_rows_written_from_the_commit_log_when_the_sink_does_not_count():
    table = progress_table(RECORDS, rows_written={0: 0, 1: 7})
    assert table["rows_written"].tolist() == [0, 7, 0], "a batch missing from the log wrote nothing"
    counted = progress_table([_record(0, "2026-01-01T10:00:00.000Z", 3, "1970-01-01T00:00:00.000Z", written=3)],
                             rows_written={0: 99})
    assert counted["rows_written"].tolist() == [3], "a sink's own count wins"


def test_empty_and_chart():
    assert list(progress_table([]).columns) == PROGRESS_COLUMNS
    fig = draw_progress(progress_table(RECORDS, rows_written={1: 7}), trigger_seconds=4, title="t")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Input rate and process rate", "Batch duration (above the line: falling behind)",
                      "Event time against the watermark", "State and output"]
    assert fig.axes[1].get_lines()[0].get_ydata()[0] == 4, "the trigger interval is drawn"
    assert draw_progress(progress_table(RECORDS), 4, fig) is fig, "redraws into the same figure"
    assert len(fig.axes) == 4


def test_watermark_rule_uses_the_newest_event_time_of_the_batches_before():
    records = RECORDS + [_record(3, "2026-01-01T10:00:12.000Z", 0, "2018-04-02T08:55:00.000Z")]
    rule = watermark_rule(progress_table(records), "10 minutes")
    assert pd.isna(rule[0]), "nothing before the first batch"
    assert rule[1:].tolist() == [pd.Timestamp("2018-04-02 08:10"), pd.Timestamp("2018-04-02 08:55"),
                                 pd.Timestamp("2018-04-02 08:55")], "an empty batch keeps the watermark"


def test_each_kafka_record_is_placed_in_the_batch_that_read_it():
    def read(batch, start, end):
        return {"batchId": batch, "sources": [{"startOffset": start, "endOffset": end}]}

    records = [read(0, None, {"bikes": {"0": 3, "1": 1}}),  # the first batch starts at the beginning
               read(1, {"bikes": {"0": 3, "1": 1}}, {"bikes": {"0": 5, "1": 1}}),
               read(2, json.dumps({"bikes": {"0": 5, "1": 1}}), json.dumps({"bikes": {"0": 5, "1": 4}}))]
    topic = ["bikes"] * 7 + ["other"]
    partition = [0, 0, 0, 0, 1, 1, 0, 0]
    offset = [0, 2, 3, 4, 0, 3, 5, 0]
    assert batch_of_offsets(records, topic, partition, offset) == [0, 0, 1, 1, 0, 2, None, None]


def test_the_progress_listener_keeps_each_callback_as_an_event():
    """ProgressListener's four callbacks, called as Spark's listener bus calls them (events faked, no JVM)."""
    import threading
    import time
    from types import SimpleNamespace

    from etl_lib.lab.live import ProgressListener

    keeper = ProgressListener()
    spark_side = keeper.listener
    spark_side.onQueryStarted(SimpleNamespace(id="q1", runId="r1", name="windows", timestamp="t0"))
    waiter = threading.Thread(target=lambda: keeper.wait_for(1, 5.0))
    waiter.start()
    time.sleep(0.05)
    spark_side.onQueryProgress(SimpleNamespace(progress=SimpleNamespace(json=json.dumps({"id": "q1", "batchId": 0}))))
    waiter.join(2.0)
    assert not waiter.is_alive(), "a progress event wakes whoever waits"
    spark_side.onQueryIdle(SimpleNamespace(id="q1", timestamp="t1"))
    spark_side.onQueryProgress(SimpleNamespace(progress=SimpleNamespace(json=json.dumps({"id": "q2", "batchId": 0}))))
    spark_side.onQueryTerminated(SimpleNamespace(id="q1", exception=None))
    assert [e["event"] for e in keeper.of_query("q1")] == ["started", "progress", "idle", "terminated"]
    assert [e["batch"] for e in keeper.of_query("q1", "progress")] == [0]
    assert keeper.wait_for(5, 0.01) == 5  # nothing new: returns at the timeout with the count
