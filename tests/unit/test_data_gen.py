"""data_gen: determinism, record layouts and ranges, exact knob counts, planted effects recoverable from the bytes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_gen import FilesSink, GenParams, Simulation, generate, read_bluebikes_csv, write_answer_key
from data_gen.records import MALFORMED_KINDS, TOPICS
from data_gen.sinks import BLUEBIKES_HEADER
from data_gen.world import SURGE_LEVELS, STATIONS, TAXI_PLACES
from etl_lib.config import load_settings
from etl_lib.schemas import EVENT_TIME, validate_record

TOPIC_NAMES = load_settings({}).kafka_topics
PARAMS = GenParams(days=7, seed=11, scale=0.6, late_fraction=0.03, duplicate_fraction=0.02, malformed_fraction=0.02)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    out = tmp_path_factory.mktemp("week")
    key = generate(PARAMS, FilesSink(out, TOPIC_NAMES))
    lines = {t: (out / f"{TOPIC_NAMES[t]}.jsonl").read_bytes().split(b"\n")[:-1] for t in TOPICS}
    return out, key, lines


def test_same_seed_same_bytes(tmp_path):
    small = GenParams(days=1, seed=5, scale=0.3, malformed_fraction=0.05, late_fraction=0.05, duplicate_fraction=0.05)
    keys = []
    for run in ("a", "b"):
        keys.append(write_answer_key(tmp_path / run / "key.json", generate(small, FilesSink(tmp_path / run, TOPIC_NAMES))))
    for name in [f"{TOPIC_NAMES[t]}.jsonl" for t in TOPICS] + ["key.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = GenParams(days=1, seed=6, scale=0.3)
    generate(other, FilesSink(tmp_path / "c", TOPIC_NAMES))
    assert (tmp_path / "c" / "bike-trips.jsonl").read_bytes() != (tmp_path / "a" / "bike-trips.jsonl").read_bytes()


def test_knobs_do_not_change_the_world():
    """Separate random streams: damaging more records leaves the simulated events themselves the same."""
    a, b = Simulation(GenParams(days=1, scale=0.2)), Simulation(GenParams(days=1, scale=0.2, malformed_fraction=0.0,
                                                                          late_fraction=0.0, duplicate_fraction=0.0))
    list(a.deliveries()), list(b.deliveries())
    assert {t: a.counts[t].events for t in TOPICS} == {t: b.counts[t].events for t in TOPICS}


def test_fields_types_and_ranges(week):
    _, _, lines = week
    start, end = PARAMS.start, PARAMS.start + timedelta(days=PARAMS.days)
    station_ids = {s.id for s in STATIONS}
    places = {p.name for p in TAXI_PLACES}
    checked = 0
    for topic in TOPICS:
        for raw in lines[topic]:
            v = validate_record(topic, raw)
            if not v.ok:
                continue
            r = v.record
            checked += 1
            assert start <= r[EVENT_TIME[topic]] < end
            if topic == "bike":
                assert r["start_station_id"] in station_ids and r["end_station_id"] in station_ids
                assert r["start_station_id"] != r["end_station_id"]
                assert 60 < r["trip_duration"] < 6 * 3600
                assert r["stop_time"] == r["start_time"] + timedelta(seconds=r["trip_duration"])
                assert r["user_type"] in ("Subscriber", "Customer") and r["gender"] in (0, 1, 2)
                assert 1940 <= r["birth_year"] <= 2005
            elif topic == "taxi":
                assert r["source"] in places and r["destination"] in places and r["source"] != r["destination"]
                assert r["cab_type"] in ("Uber", "Lyft") and r["surge_multiplier"] in SURGE_LEVELS
                assert r["cab_type"] == "Lyft" or r["surge_multiplier"] == 1.0
                assert 0 < r["distance"] < 30 and 0 < r["price"] < 300
            elif topic == "weather":
                assert -30 < r["temperature"] < 40 and 0 <= r["precip_intensity"] < 40
                assert 0.2 <= r["humidity"] <= 1 and 0.5 <= r["visibility"] <= 16
                assert (r["precip_intensity"] > 0) == (r["summary"] in ("Light Rain", "Rain", "Heavy Rain", "Snow"))
            else:
                assert r["mode_type"] in ("mv", "ped", "bike")
                assert r["location_type"] in ("Intersection", "Street", "Other")
    assert checked > 50_000


def _recount(topic: str, raw_lines: list[bytes], watermark_s: float) -> dict:
    counts = {"produced": len(raw_lines), "duplicates": 0, "late": 0, "quarantined": 0,
              "by_reason": {"json": 0, "missing": 0, "type": 0, "timestamp": 0, "impossible": 0}, "unknown_field": 0}
    seen: set[bytes] = set()
    max_event = None
    for raw in raw_lines:
        v = validate_record(topic, raw)
        if not v.ok:
            counts["quarantined"] += 1
            reason = v.reason
            key = ("json" if "JSON" in reason else "missing" if "missing" in reason else "type" if "wrong type" in reason
                   else "timestamp" if "timestamp" in reason else "impossible")
            counts["by_reason"][key] += 1
            continue
        if b'"promo_code"' in raw:
            counts["unknown_field"] += 1
        if raw in seen:
            counts["duplicates"] += 1
        seen.add(raw)
        t = v.record[EVENT_TIME[topic]]
        if max_event is not None and (max_event - t).total_seconds() > watermark_s:
            counts["late"] += 1
        max_event = t if max_event is None else max(max_event, t)
    return counts


def test_knob_counts_are_exact(week):
    _, key, lines = week
    for topic in TOPICS:
        expected = key["counts"][topic]
        got = _recount(topic, lines[topic], PARAMS.watermark_minutes * 60)
        m = expected["malformed"]
        assert got["produced"] == expected["produced"], topic
        assert got["quarantined"] == expected["quarantined"], topic
        assert got["duplicates"] == expected["duplicates"], topic
        assert got["late"] == expected["late"], topic
        assert got["unknown_field"] == m["unknown_field"], topic
        assert got["by_reason"]["json"] == m["not_json"] + m["truncated_json"], topic
        assert got["by_reason"]["missing"] == m["missing_field"], topic
        assert got["by_reason"]["type"] == m["wrong_type"], topic
        assert got["by_reason"]["timestamp"] == m["bad_timestamp"], topic
        assert got["by_reason"]["impossible"] == m["impossible_value"], topic
        assert expected["valid"] == expected["produced"] - expected["quarantined"]
    big = key["counts"]["taxi"]
    assert all(big["malformed"][k] > 0 for k in MALFORMED_KINDS), "every kind of damage occurs"
    assert big["late"] > 0 and big["duplicates"] > 0


def _frame(topic, raw_lines):
    rows = [validate_record(topic, raw).record for raw in dict.fromkeys(raw_lines)]  # drop exact duplicates
    return pd.DataFrame([r for r in rows if r is not None])


def test_planted_effects_recovered_from_the_bytes_with_pandas(week):
    """An independent pandas computation over the files agrees with the answer key, in sign and size."""
    _, key, lines = week
    weather = _frame("weather", lines["weather"]).set_index("timestamp").sort_index()
    w15 = weather[["temperature", "precip_intensity"]].resample("15min").mean().dropna()
    bikes = _frame("bike", lines["bike"]).set_index("start_time").resample("15min").size()
    taxis = _frame("taxi", lines["taxi"]).set_index("timestamp")
    table = w15.join(bikes.rename("bike_count")).join(taxis.resample("15min").size().rename("taxi_count"))
    table = table.join(taxis["surge_multiplier"].resample("15min").mean().rename("avg_surge"))
    table[["bike_count", "taxi_count"]] = table[["bike_count", "taxi_count"]].fillna(0)
    rels = {r["name"]: r for r in key["relationships"]}
    for y, x in [("bike_count", "temperature"), ("bike_count", "precip_intensity"),
                 ("taxi_count", "precip_intensity"), ("avg_surge", "precip_intensity")]:
        rel = rels[f"pearson_{y}_vs_{x}"]
        r = table[x].corr(table[y])
        assert abs(r - rel["expected"]) <= rel["tolerance"], (y, x, r, rel)
        if y != "taxi_count":  # taxis vary tenfold over the day: rain's +20-40% is a weak r, of either sign
            assert np.sign(r) == (1 if rel["planted_direction"] == "positive" else -1), (y, x, r)
    # Rainy windows against dry windows of the same weekday/weekend hour.
    table["weekend"], table["hour"] = table.index.dayofweek >= 5, table.index.hour
    dry = table[table.precip_intensity == 0]
    for cat, rainy in (("light", table[(table.precip_intensity > 0) & (table.precip_intensity < 2.5)]),
                       ("heavy", table[table.precip_intensity >= 2.5])):
        for y in ("bike_count", "taxi_count"):
            rel = rels[f"precipitation_impact_{y}_{cat}_vs_dry"]
            if rel["measurable"]:
                base = dry.groupby(["weekend", "hour"])[y].mean().rename("base")
                matched = rainy.join(base, on=["weekend", "hour"]).dropna(subset=["base"])
                change = matched[y].sum() / matched["base"].sum() - 1
                assert abs(change - rel["expected"]) <= rel["tolerance"], (cat, y, change, rel)


def test_answer_key_shape(week):
    _, key, _ = week
    assert key["coefficients"]["bike_rain_max_change"] < 0
    assert {r["analytic"] for r in key["relationships"]} >= {
        "pearson_correlations", "surge_weather_correlation", "precipitation_impact", "temporal_correlations",
        "weather_safety_analysis"}
    for rel in key["relationships"]:
        if not rel["measurable"]:
            assert rel["reason"] and rel["expected"] is None
            continue
        assert rel["tolerance"] > 0
        assert rel["agrees_with_planted"] == (rel["direction"] == rel["planted_direction"])
        # Well-powered relationships (every window, or a large planted effect) must show the planted sign; the
        # taxi r is not one of them (taxis vary tenfold over the day, rain adds 20-40%).
        if (rel["analytic"] in ("pearson_correlations", "surge_weather_correlation") and rel.get("y") != "taxi_count"
                ) or (rel["analytic"] == "precipitation_impact" and rel["y"] == "bike_count"):
            assert rel["agrees_with_planted"], rel["name"]
    assert key["usage"]["weekday_bike_peak_hour"] in key["usage"]["weekday_bike_peak_expected_in"]
    assert key["binned"] and all(c["windows"] >= 8 for c in key["binned"])


def test_bluebikes_csv_replay_reports_bad_rows(tmp_path):
    path = tmp_path / "201804-bluebikes-tripdata.csv"
    good = ["542", "2018-04-01 00:04:44.7360", "2018-04-01 00:13:47.4500", "67", "MIT at Mass Ave / Amherst St",
            "42.3581", "-71.093198", "179", "MIT Vassar St", "42.355601", "-71.103945", "1980", "Subscriber",
            "1988", "1"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(BLUEBIKES_HEADER)
        w.writerow(good)
        w.writerow(good[:5])                                  # too few columns
        w.writerow(["abc"] + good[1:])                        # duration not a number
        w.writerow(good[:1] + ["yesterday"] + good[2:])       # bad date
        w.writerow(good[:13] + ["\\N", "0"])                  # missing birth year is allowed
    deliveries, report = read_bluebikes_csv(path)
    assert report.rows == 5 and report.sent == 2 and len(report.rejected) == 3
    assert [b["line"] for b in report.rejected] == [3, 4, 5]
    record = json.loads(deliveries[0].value)
    assert record["start_time"] == "2018-04-01 00:04:44" and record["trip_duration"] == 542
    assert validate_record("bike", deliveries[0].value).ok and validate_record("bike", deliveries[1].value).ok


def test_csv_with_wrong_header_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="not a Bluebikes trip file"):
        read_bluebikes_csv(path)


def _cli(tmp_path, *args):
    env = dict(os.environ, DATA_DIR=str(tmp_path))
    return subprocess.run([sys.executable, "-m", "data_gen", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_files_mode_and_summary(tmp_path):
    proc = _cli(tmp_path, "--days", "1", "--scale", "0.1", "--to", "files", "--out", str(tmp_path / "o"),
                "--no-progress")
    assert proc.returncode == 0, proc.stderr
    key = json.loads((tmp_path / "answer_key.json").read_text())
    assert "bike-trips" in proc.stdout and f"{key['counts']['taxi']['produced']:,}" in proc.stdout


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bluebikes_201804_odd_rows.csv"


def test_real_format_csv_accounts_for_every_row():
    """The 2018 file as published: BOM, CRLF, quoted commas, \\N, a 2017-style timestamp, blank lines, bad rows."""
    raw_lines = FIXTURE.read_bytes().decode("utf-8-sig").split("\r\n")
    deliveries, report = read_bluebikes_csv(FIXTURE)
    data_lines = [line for line in raw_lines[1:] if line.strip()]
    assert report.rows == len(data_lines) == 30
    assert report.rows == report.sent + len(report.rejected) and report.sent == len(deliveries) == 24
    assert report.skipped_blank == 2
    for r in report.rejected:
        assert r["raw"] == raw_lines[r["line"] - 1], "the rejects keep the line exactly as it was in the file"
    reasons = [r["reason"] for r in report.rejected]
    assert reasons[0] == "column 'tripduration': expected a whole number of seconds, got ''"
    assert "column 'start station id'" in reasons[1] and "column 'starttime'" in reasons[2]
    assert reasons[3] == "9 columns, expected 15" and "column 'bikeid'" in reasons[4]
    assert "0 seconds or more" in reasons[5]
    records = [json.loads(d.value) for d in deliveries]
    assert all(validate_record("bike", d.value).ok for d in deliveries)
    assert {r["start_station_name"] for r in records} >= {"Central Square at Mass Ave, Essex St"}
    assert sum(r["birth_year"] is None for r in records) >= 2
    assert "2018-04-01 12:35:00" in {r["start_time"] for r in records}  # from "4/1/2018 12:35"


def test_cli_replay_refuses_rejects_unless_allowed(tmp_path):
    out = tmp_path / "o"
    proc = _cli(tmp_path, "--to", "files", "--out", str(out), "--replay-csv", str(FIXTURE))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "30 rows read: 24 sent, 6 rejected; 2 blank lines skipped" in proc.stderr
    assert "Nothing was sent" in proc.stderr and "--allow-rejects" in proc.stderr
    rejects = tmp_path / "replay_rejects" / f"{FIXTURE.stem}.jsonl"
    assert len(rejects.read_text().splitlines()) == 6
    assert not any(p.stat().st_size for p in out.glob("*.jsonl")), "nothing sent"
    proc = _cli(tmp_path, "--to", "files", "--out", str(out), "--replay-csv", str(FIXTURE), "--allow-rejects")
    assert proc.returncode == 0, proc.stderr
    assert "24 sent, 6 rejected" in proc.stdout and str(rejects) in proc.stdout
    assert len((out / "bike-trips.jsonl").read_text().splitlines()) == 24


def test_newer_ride_layout_is_refused_by_name(tmp_path):
    path = tmp_path / "202304-bluebikes-tripdata.csv"
    path.write_text("ride_id,rideable_type,started_at,ended_at,start_station_name,start_station_id,"
                    "end_station_name,end_station_id,start_lat,start_lng,end_lat,end_lng,member_casual\n")
    with pytest.raises(ValueError, match="newer ride layout"):
        read_bluebikes_csv(path)


@pytest.mark.parametrize("args,needle", [
    (["--late-fraction", "-0.1"], "fraction from 0 to 1"),
    (["--malformed-fraction", "1.2"], "fraction from 0 to 1"),
    (["--days", "0"], "greater than 0"),
    (["--start", "April"], "not a date"),
])
def test_cli_bad_arguments(tmp_path, args, needle):
    proc = _cli(tmp_path, "--to", "files", *args)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_cli_unreachable_broker(tmp_path):
    proc = _cli(tmp_path, "--days", "1", "--bootstrap-servers", "127.0.0.1:1")
    assert proc.returncode == 1 and "No Kafka broker answers at 127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr


def _key(days=1, seed=1, scale=0.05, **windows):
    from datetime import timedelta

    from data_gen import Simulation, build_answer_key

    sim = Simulation(GenParams(days=days, seed=seed, scale=scale))
    for _ in sim.deliveries():
        pass
    return build_answer_key(sim, **{k: timedelta(minutes=v) for k, v in windows.items()})


def test_a_run_without_rain_or_accidents_says_what_it_cannot_measure(tmp_path):
    """Seed 5's day is dry and has no accident: every rain relationship is "not measurable" with its reason,
    none has a direction or a NaN, and the file is strict JSON."""
    import json

    from data_gen import write_answer_key

    key = _key(seed=5)
    rels = {r["name"]: r for r in key["relationships"]}
    assert not rels["pearson_bike_count_vs_precip_intensity"]["measurable"]
    assert "precip_intensity does not vary" in rels["pearson_bike_count_vs_precip_intensity"]["reason"]
    assert not rels["precipitation_impact_taxi_count_heavy_vs_dry"]["measurable"]
    assert rels["weather_safety_relative_risk_rain_vs_dry"]["reason"] == "no hour with rain"
    for r in key["relationships"]:
        if not r["measurable"]:
            assert r["expected"] is None and r["direction"] is None and r["agrees_with_planted"] is None and r["reason"]
    path = write_answer_key(tmp_path / "key.json", key)
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the answer key"))


def test_answer_key_summary_separates_not_measurable_from_missed():
    import pandas as pd

    from etl_lib.report import answer_key_summary, check_answer_key

    key = _key(seed=5)
    check = check_answer_key({}, key)
    assert isinstance(check, pd.DataFrame) and (check["measurable"] | check["within_tolerance"].isna()).all()
    text = answer_key_summary(check)
    measurable = int(check["measurable"].sum())
    assert text.startswith(f"0 of {measurable} measurable relationships recovered")
    assert f"{int((~check['measurable']).sum())} not measurable in this run" in text and "no hour with rain" in text


def test_ratio_tolerances_are_a_share_of_the_ratio():
    key = _key(days=7, seed=42, scale=0.2)
    impacts = [r for r in key["relationships"] if r["analytic"] == "precipitation_impact" and r["measurable"]]
    assert impacts
    for r in impacts:
        assert r["tolerance"] == round(max(0.1, 0.1 * abs(1 + r["expected"])), 4)


def test_answer_key_uses_the_windows_it_is_given():
    k15, k30 = _key(days=2, seed=2), _key(days=2, seed=2, window=30, long_window=120)
    assert k15["multi_variable"]["window"] == "15 minutes" and k30["multi_variable"]["window"] == "30 minutes"
    assert k30["multi_variable"]["windows"] < k15["multi_variable"]["windows"]
    assert {r.get("window") for r in k30["relationships"] if r["analytic"] == "weather_safety_analysis"} == {
        "120 minutes"}


def test_a_stopped_replay_says_how_much_it_sent(tmp_path):
    """A live replay stopped from another thread ends at once, flushes what it sent and does not pretend it finished."""
    import threading
    import time

    from data_gen import ReplayStopped

    stop = threading.Event()
    sink = FilesSink(tmp_path, TOPIC_NAMES)
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    with pytest.raises(ReplayStopped) as err:
        generate(GenParams(days=1, scale=0.05, seed=3), sink, speedup=86400 / 60, stop=stop)  # a day in 60 s
    assert time.monotonic() - t0 < 5, "the stop cut the wait short"
    lines = sum(1 for f in tmp_path.rglob("*.jsonl") for _ in f.open())
    assert 0 < err.value.sent == lines, "every record it reports as sent is in the sink"
    assert f"{err.value.sent:,} records sent" in str(err.value)


def test_a_replay_that_finishes_is_not_stopped(tmp_path):
    import threading

    stop = threading.Event()
    key = generate(GenParams(days=1, scale=0.02, seed=3), FilesSink(tmp_path, TOPIC_NAMES), stop=stop)
    stop.set()  # set after the end: changes nothing
    assert key["params"]["days"] == 1


def test_java_producer_that_cannot_start_leaves_no_password_file(monkeypatch, tmp_path):
    """Popen failing (a java that vanished) is one SinkError, and the properties file (it may hold a SASL
    password) is deleted with its folder."""
    import tempfile

    from data_gen import JavaKafkaSink, SinkError
    from data_gen.records import TOPICS
    from data_gen import sinks
    from etl_lib.core import jvm as _jvm

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(_jvm, "producer_classpath", lambda: "unused.jar")
    monkeypatch.setattr(_jvm, "java_executable", lambda: str(tmp_path / "no-such-java"))
    monkeypatch.setattr(_jvm, "java_version", lambda java=None: 17)
    monkeypatch.setattr(sinks, "broker_answers", lambda settings, timeout=3.0: True)
    with pytest.raises(SinkError, match="Could not start data_gen's Java producer with .*no-such-java"):
        JavaKafkaSink("127.0.0.1:9", {t: t for t in TOPICS})
    assert list(tmp_path.iterdir()) == []
