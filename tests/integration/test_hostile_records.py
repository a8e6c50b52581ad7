"""Hostile records: every one ends in raw or in quarantine with a reason, and the Spark parser and the Python
reference validator (etl_lib.schemas.validate_record) give every record the same verdict and reason."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from data_gen.records import TOPICS
from etl_lib.config import ANALYTICS_FLAGS
from etl_lib.core.kafka import create_topics
from etl_lib.main import run_etl
from etl_lib.parsing import with_reasons
from etl_lib.schemas import EVENT_TIME, FIELDS, validate_record
from etl_lib.commit_log import read_sink
from etl_lib.writers import TOPIC_FOLDERS, count_rows

VALID = {
    "bike": {"trip_id": "b1", "trip_duration": 600, "start_time": "2018-04-02 08:00:00",
             "stop_time": "2018-04-02 08:10:00", "start_station_id": 3, "end_station_id": 4,
             "start_station_latitude": 42.35},
    "taxi": {"id": "t1", "timestamp": "2018-04-02 08:00:00", "price": 9.5, "surge_multiplier": 1.0,
             "latitude": 42.35},
    "weather": {"timestamp": "2018-04-02 08:00:00", "temperature": 10.0, "precip_intensity": 0.0},
    "accidents": {"id": "a1", "dispatch_ts": "2018-04-02 08:00:00", "latitude": 42.35, "longitude": -71.06},
}


def _field(topic, *kinds):
    return next(name for name, kind, _ in FIELDS[topic] if kind in kinds)


def _with(topic, **changes) -> bytes:
    return json.dumps({**VALID[topic], **changes}).encode()


def hostile(topic: str) -> dict[str, bytes | None]:
    """The issue's list of hostile records, built for ``topic`` from a valid record of it."""
    text = _field(topic, "string")
    number = next(name for name, kind, _ in FIELDS[topic] if kind in ("int", "double") and name in VALID[topic])
    when = EVENT_TIME[topic]
    valid = _with(topic)
    return {
        "valid": valid,
        "binary garbage": b"\x00\xff\xfe\x80\x81 garbage \xc3\x28",
        "empty value": b"",
        "null value": None,
        "JSON array": b'[{"a": 1}, 2]',
        "JSON scalar": b'"just a string"',
        "nested object for a number": _with(topic, **{number: {"value": 1}}),
        "NaN literal": valid.replace(f'"{number}": '.encode(), f'"{number}": NaN, "x": '.encode(), 1),
        "Infinity literal": valid.replace(f'"{number}": '.encode(), f'"{number}": -Infinity, "x": '.encode(), 1),
        "string NaN": _with(topic, **{number: "NaN"}),
        "900 KB record": _with(topic, comment="x" * 900_000),
        "unicode names": _with(topic, **{text: "Čačak ☃ 😀 ünïcödé"}),
        "epoch millis": _with(topic, **{when: 1522656000000}),
        "ISO with Z": _with(topic, **{when: "2018-04-02T08:00:00Z"}),
        "ISO with +02:00": _with(topic, **{when: "2018-04-02T08:00:00+02:00"}),
        "date only": _with(topic, **{when: "2018-04-02"}),
        "negative number": _with(topic, **{number: -5}),
        "1e308": _with(topic, **{number: 1e308}),
        "number for a string": _with(topic, **{text: 123}),
        "object for a string": _with(topic, **{text: {"nested": [1, 2.5, True, None]}}),
        "duplicated key, last invalid": valid.replace(b"{", f'{{"{number}": 1, '.encode(), 1)[:-1]
        + f', "{number}": "oops"}}'.encode(),
        "duplicated key, last valid": valid[:-1] + f', "{when}": "2018-04-03 09:00:00"}}'.encode(),
        "leading newline": b"\n" + valid,
        "trailing text": valid + b" and more",
        "single quotes": valid.replace(b'"', b"'"),
        "byte order mark": b"\xef\xbb\xbf" + valid,
        "whole number too big for int": _with(topic, **{number: 10**20}),
        "boolean for a number": _with(topic, **{number: True}),
        # Issue 35's kinds: what Spark's reader would take for the first value and silently ignore after it,
        # containers where text belongs, numbers out of range, impossible dates, and impossible event times.
        "trailing garbage after the object": valid + b" x",
        "two objects in a row": valid + valid,
        "two objects with a space": valid + b" " + valid,
        "a stray closing brace": valid + b"}",
        "a stray bracket and text": valid + b"] x",
        "a pair after the object": valid + b', "k": 1',
        "array for a string": _with(topic, **{text: ["a", "b"]}),
        "object for the event time": _with(topic, **{when: {"at": "2018-04-02 08:00:00"}}),
        "string that looks like an object": _with(topic, **{text: "{not an object"}),
        "invalid UTF-8 inside a string": _with(topic, **{text: "@@"}).replace(b"@@", b"ok \xc3\x28\xff"),
        "1e400": valid.replace(f'"{number}": '.encode(), f'"{number}": 1e400, "x": '.encode(), 1),
        "number as a string": _with(topic, **{number: "600"}),
        "February 30": _with(topic, **{when: "2018-02-30 08:00:00"}),
        "hour 25": _with(topic, **{when: "2018-04-02 25:00:00"}),
        "nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
        "an object nested 1,500 deep": valid[:-1] + b', "z": ' + b'{"a":' * 1500 + b"1" + b"}" * 1501,
        "nested 999 deep, Spark's limit in the kit": valid[:-1] + b', "z": ' + b"[" * 998 + b"]" * 998 + b"}",
        "nested 1,000 deep": valid[:-1] + b', "z": ' + b"[" * 999 + b"]" * 999 + b"}",
        "whitespace only": b" \n\t ",
        "event time in year 9999": _with(topic, **{when: "9999-12-31 23:59:59"}),
        "event time two hours after arrival": _with(topic, **{when: "2026-12-07 10:00:01"}),
        "event time 59 minutes after arrival": _with(topic, **{when: "2026-12-07 08:59:00"}),
        "event time in year 0001": _with(topic, **{when: "0001-01-01 00:00:00"}),
        "event time just before the floor": _with(topic, **{when: "1999-12-31 23:59:59"}),
        "event time at the floor": _with(topic, **{when: "2000-01-01 00:00:00"}),
    }


# Every hostile record is sent with this Kafka timestamp, so the arrival rule (EVENT_TIME_MAX_AHEAD) is the same
# for Spark and for the reference validator.
ARRIVAL = dt.datetime(2026, 12, 7, 8, 0, 0)
ARRIVAL_MS = int(ARRIVAL.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


@pytest.mark.timeout(600)
def test_hostile_records_end_in_raw_or_quarantine_with_the_reference_reason(spark, settings, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    s = settings.replace(data_dir=tmp_path, **{f"kafka_topic_{t}": f"{t}-hostile-{suffix}" for t in TOPICS},
                         **{flag.lower(): False for flag in ANALYTICS_FLAGS})
    create_topics(s, s.kafka_topics.values(), 1)
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all", max_request_size=2_000_000)
    sent = {t: hostile(t) for t in TOPICS}
    for t, records in sent.items():
        for value in records.values():
            # A record with a null value needs a key (kafka-python sends nothing without either).
            producer.send(s.kafka_topics[t], key=b"k" if value is None else None, value=value,
                          timestamp_ms=ARRIVAL_MS)
    producer.flush()
    producer.close()
    run = run_etl(spark, s, available_now=True, echo=lambda *_: None)
    assert not run.failed()
    for t, records in sent.items():
        expected = {name: validate_record(t, v, ARRIVAL, s).reason for name, v in records.items()}
        valid = sum(r is None for r in expected.values())
        folder = TOPIC_FOLDERS[t]
        raw = count_rows(spark, s.output_base_path / folder)
        quarantine = spark.read.parquet(str(s.quarantine_path / folder)).select("kafka_offset", "reason").collect()
        got = {r.kafka_offset: r.reason for r in quarantine}
        names = list(records)
        mismatches = {name: (got.get(o), expected[name]) for o, name in enumerate(names) if got.get(o) != expected[name]}
        assert not mismatches, (t, "name: (spark, python)", mismatches)
        assert raw + len(quarantine) == len(records), t
        assert raw == valid, t
        assert all(got.values()), "every quarantined record says why"
        for name, reason in INTENDED.items():
            assert (expected[name] or "valid").startswith(reason), (t, name, expected[name])
        # Outside Spark: the kit's commit-log reader reads the quarantine whatever the bytes, and keeps them.
        kept = read_sink(s.quarantine_path / folder)
        assert len(kept) == len(quarantine), t
        for row in kept.itertuples():
            sent_value = records[names[row.kafka_offset]]
            assert (None if row.raw_bytes is None else bytes(row.raw_bytes)) == sent_value, (t, row.kafka_offset)
            if sent_value is not None:
                assert row.raw_value == sent_value.decode("utf-8", errors="replace"), (t, row.kafka_offset)
    assert len(sent["bike"]) >= 40
    _times_read_back_exact(spark, s.output_base_path / TOPIC_FOLDERS["bike"])


def _times_read_back_exact(spark, raw_path):
    """Every reader sees the same event times, the floor and the top of what the kit admits included.

    Spark used to write Parquet timestamps as INT96, which pyarrow and pandas read as nanoseconds: any time
    outside 1677-2262 came back as another date.  Now they are INT64 microseconds marked UTC."""
    import pandas as pd
    import pyarrow.parquet as pq

    from etl_lib.commit_log import committed_files

    files = committed_files(raw_path)
    text = "%Y-%m-%d %H:%M:%S"
    by_spark = sorted(r.t for r in spark.read.parquet(str(raw_path))
                      .selectExpr("date_format(start_time, 'yyyy-MM-dd HH:mm:ss') AS t").collect())
    by_read_sink = sorted(read_sink(raw_path)["start_time"].dt.strftime(text))
    by_pyarrow = sorted(t.strftime(text) for f in files for t in pq.read_table(f, columns=["start_time"])
                        .column("start_time").to_pylist())
    by_pandas = sorted(pd.concat([pd.read_parquet(f, columns=["start_time"]) for f in files])["start_time"]
                       .dt.strftime(text))
    assert by_spark == by_read_sink == by_pyarrow == by_pandas
    schema = pq.ParquetFile(files[0]).schema
    column = schema.column([c.name for c in schema].index("start_time"))
    assert column.physical_type == "INT64" and '"timeUnit":"microseconds"' in column.logical_type.to_json()
    assert by_spark[0] == "2000-01-01 00:00:00", "the floor itself is admitted"
    assert by_spark[-1] == "2026-12-07 08:59:00", "59 minutes after arrival is admitted"


# What the hostile kinds must get (the reference validator and Spark must then agree on each).
INTENDED = {
    "trailing garbage after the object": "not valid JSON", "two objects in a row": "not valid JSON",
    "two objects with a space": "not valid JSON", "a stray closing brace": "not valid JSON",
    "a stray bracket and text": "not valid JSON", "a pair after the object": "not valid JSON",
    "trailing text": "not valid JSON", "nested 10,000 deep": "not valid JSON",
    "an object nested 1,500 deep": "not valid JSON", "whitespace only": "not valid JSON",
    "nested 999 deep, Spark's limit in the kit": "valid", "nested 1,000 deep": "not valid JSON",
    "array for a string": "wrong type", "object for a string": "wrong type", "object for the event time": "wrong type",
    "string that looks like an object": "valid", "invalid UTF-8 inside a string": "valid", "1e400": "wrong type",
    "number as a string": "wrong type", "February 30": "bad timestamp", "hour 25": "bad timestamp",
    "event time in year 9999": "event time after arrival", "event time two hours after arrival":
    "event time after arrival", "event time 59 minutes after arrival": "valid",
    "event time in year 0001": "event time before the floor",
    "event time just before the floor": "event time before the floor", "event time at the floor": "valid",
}


# ---------------------------------------------------------------------- parity, property-based
_numbers = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=True, allow_infinity=True, width=64))
_scalars = st.one_of(
    _numbers,
    st.text(max_size=12),
    st.sampled_from(["2018-04-02 08:00:00", "2018-4-2 8:0:0", "2018-04-02T08:00:00Z", "2018-02-30 10:00:00",
                     "2018-04-02 24:00:00", " 2018-04-02 08:00:00", "NaN", "Infinity", "600", "1.5"]),
)
_nested = st.recursive(_numbers | st.text(alphabet="abcxyz 019", max_size=5),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(alphabet="abk", min_size=1, max_size=2), inner, max_size=3),
                       max_leaves=6)


@st.composite
def _record(draw, topic: str) -> bytes:
    obj = dict(VALID[topic])
    for name, kind, _ in FIELDS[topic]:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            obj.pop(name, None)
        elif choice <= 3:
            obj[name] = draw(_scalars)
        elif choice == 4:
            obj[name] = draw(_nested)
    text = json.dumps(obj, allow_nan=True)
    mutation = draw(st.integers(0, 12))
    if mutation == 0:
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif mutation == 1:
        text = draw(st.sampled_from([" ", "\n", "\t", "\r\n"])) + text
    elif mutation == 2:
        text += draw(st.sampled_from([" ", "\n", " x", "}", "]", " {}"]))
    elif mutation == 3:
        return b"\xef\xbb\xbf" + text.encode()
    elif mutation == 4:
        return text.encode()[:-3] + b"\xff" + text.encode()[-3:]
    return text.encode()


@pytest.mark.timeout(600)
@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_spark_parser_and_python_validator_agree_on_random_records(spark, data):
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField("key", T.BinaryType()), T.StructField("value", T.BinaryType()),
                           T.StructField("topic", T.StringType()), T.StructField("partition", T.IntegerType()),
                           T.StructField("offset", T.LongType()), T.StructField("timestamp", T.TimestampType())])
    now = ARRIVAL
    for topic in TOPICS:
        records = data.draw(st.lists(_record(topic), min_size=1, max_size=40), label=topic)
        df = spark.createDataFrame([(None, r, topic, 0, i, now) for i, r in enumerate(records)], schema)
        got = {r.kafka_offset: r.reason for r in with_reasons(df, topic).select("kafka_offset", "reason").collect()}
        for i, raw in enumerate(records):
            assert got[i] == validate_record(topic, raw, now).reason, (topic, raw[:300])
