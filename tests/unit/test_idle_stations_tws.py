"""IdleStations (etl_lib.state) unit-tested without a query: pyspark 4.2's TwsTester drives the processor in
plain Python, with the watermark set by hand and the state peeked at, in milliseconds and with no JVM.

tests/integration/test_state.py checks the same processor through a streaming query on Spark (against
session_window, across restarts); bench/tws_tester.py compares the two ways' time."""

from __future__ import annotations

import pandas as pd
from pyspark.sql.streaming.tws_tester import TwsTester

from etl_lib.state import IdleStations


def _ms(hhmm: str) -> int:
    return int(pd.Timestamp(f"2018-04-02 {hhmm}").value // 1_000_000)


def _trips(*hhmm: str) -> pd.DataFrame:
    return pd.DataFrame({"start_station_id": [7] * len(hhmm),
                         "event_time": pd.to_datetime([f"2018-04-02 {t}" for t in hhmm])})


def _tester(idle_minutes: int = 30) -> TwsTester:
    return TwsTester(IdleStations(idle_minutes), timeMode="EventTime", outputMode="Append",
                     eventTimeExtractor=lambda row: int(pd.Timestamp(row["event_time"]).value // 1_000_000))


def _runs(frame: pd.DataFrame) -> list[tuple]:
    return [(r.station, f"{r.first_trip:%H:%M}", f"{r.last_trip:%H:%M}", r.trips) for r in frame.itertuples()]


def test_a_run_ends_when_the_watermark_passes_its_last_trip_plus_the_idle_time():
    tester = _tester(30)
    assert _runs(tester.testInPandas(7, _trips("08:00", "08:10"))) == []
    assert tester.peekValueState("run", 7)[2] == 2  # (first, last, trips) held for the station
    assert _runs(tester.testInPandas(7, _trips("08:20"))) == []  # the timer moves to 08:50
    assert _runs(tester.setWatermark(_ms("08:49"))) == []
    assert _runs(tester.setWatermark(_ms("08:50"))) == [(7, "08:00", "08:20", 3)]  # fires at the timer's time
    assert tester.peekValueState("run", 7) is None  # state cleared: the timer bounds it


def test_a_gap_inside_the_data_ends_the_run_at_once():
    tester = _tester(30)
    got = _runs(tester.testInPandas(7, _trips("09:00", "08:00", "08:15")))  # out of order, gap 08:15 -> 09:00
    assert got == [(7, "08:00", "08:15", 2)]
    first, last, trips = tester.peekValueState("run", 7)
    assert (f"{pd.Timestamp(first):%H:%M}", f"{pd.Timestamp(last):%H:%M}", trips) == ("09:00", "09:00", 1)
    assert _runs(tester.setWatermark(_ms("09:30"))) == [(7, "09:00", "09:00", 1)]


def test_only_the_newest_timer_is_kept():
    tester = _tester(15)
    tester.testInPandas(7, _trips("08:00"))
    tester.testInPandas(7, _trips("08:10"))
    tester.handle.setGroupingKey(7)
    assert list(tester.handle.listTimers()) == [_ms("08:25")]


def test_rows_behind_the_testers_watermark_never_reach_the_processor():
    """TwsTester filters rows at or behind the watermark set by hand (it has no batches: in a query Spark judges a
    late row by the watermark the previous micro-batch ran with, lesson 15)."""
    tester = _tester(30)
    tester.setWatermark(_ms("08:30"))
    assert _runs(tester.testInPandas(7, _trips("08:30", "08:20"))) == []
    assert tester.peekValueState("run", 7) is None
