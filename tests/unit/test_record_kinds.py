"""The record kinds' table (etl_lib.core.kinds) against every user of it: settings, parser, schemas, data_gen,
writers, pipelines, the analytics registry and docs/records.md.  No module spells the kinds' time format again."""

from __future__ import annotations

import inspect
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

import etl_lib
from data_gen import records as gen_records
from data_gen.records import GenParams, Simulation
from etl_lib import parsing, schemas
from etl_lib.config import load_settings
from etl_lib.core.catalog import ANALYTICS, COMBINED
from etl_lib.core.kinds import KIND_IDS, KINDS, SPARK_TIME_FORMAT, TIME_FORMAT, by_id

ROOT = Path(__file__).resolve().parents[2]
IDS = pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)


def test_the_table_has_four_kinds_each_once():
    assert KIND_IDS == ("bike", "taxi", "weather", "accidents")
    for field in ("id", "setting", "folder", "parser", "event_type"):
        values = [getattr(k, field) for k in KINDS]
        assert len(set(values)) == len(KINDS), f"two kinds share a {field}: {values}"
    assert [by_id(k.id) for k in KINDS] == list(KINDS)
    with pytest.raises(KeyError, match="the kinds are bike, taxi, weather, accidents"):
        by_id("accident")


@IDS
def test_every_kind_has_its_topic_setting(kind):
    s = load_settings({})
    assert s.source(kind.setting) == "default"  # a declared setting (source() refuses an unknown one)
    assert s.kafka_topics[kind.id] == getattr(s, kind.topic_attribute) == s.as_env()[kind.setting]
    assert load_settings({kind.setting: "elsewhere"}).kafka_topics[kind.id] == "elsewhere"


def test_the_settings_topics_are_the_kinds_in_order():
    assert tuple(load_settings({}).kafka_topics) == KIND_IDS


@IDS
def test_every_kind_has_its_parser(kind):
    parser = getattr(parsing, kind.parser)
    assert callable(parser) and kind.parser in parsing.__all__ and kind.parser in etl_lib.__all__
    assert f'parse_stream(raw, "{kind.id}"' in inspect.getsource(parser), f"{kind.parser} parses another kind"


@IDS
def test_every_kind_has_a_schema_with_the_tables_event_time_and_id(kind):
    fields = {name: (type_, required) for name, type_, required in schemas.FIELDS[kind.id]}
    assert schemas.EVENT_TIME[kind.id] == kind.event_time and schemas.RECORD_ID[kind.id] == kind.record_id
    assert fields[kind.event_time] == ("timestamp", True)
    assert fields[kind.record_id][1], f"{kind.record_id} identifies an event: it must be required"


def test_the_schemas_cover_the_kinds_in_order_with_one_time_format():
    assert tuple(schemas.FIELDS) == tuple(schemas.RULES) == KIND_IDS
    # The parser and the validator read every time field of every kind (and EVENT_TIME_FLOOR) in one format.
    assert {k.time_format for k in KINDS} == {schemas.TIME_FORMAT} == {TIME_FORMAT}
    assert {k.spark_time_format for k in KINDS} == {schemas.SPARK_TIME_FORMAT} == {SPARK_TIME_FORMAT}
    assert load_settings({"EVENT_TIME_FLOOR": "2001-02-03"}).event_time_floor == \
        datetime(2001, 2, 3).strftime(TIME_FORMAT)


@IDS
def test_the_python_and_spark_forms_are_one_format(kind):
    java_to_strftime = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
    assert re.sub("|".join(java_to_strftime), lambda m: java_to_strftime[m.group()], kind.spark_time_format) == \
        kind.time_format


@pytest.fixture(scope="module")
def one_day():
    """The valid records of one small simulated day, by kind, decoded."""
    out: dict[str, list[dict]] = {t: [] for t in KIND_IDS}
    for d in Simulation(GenParams(days=1, scale=0.1, seed=3)).deliveries():
        if d.kind in ("valid", "duplicate"):
            out[d.topic].append(json.loads(d.value))
    return out


def test_data_gen_makes_the_kinds_of_the_table():
    assert gen_records.TOPICS == KIND_IDS
    assert gen_records.TIME_FIELD == {k.id: k.event_time for k in KINDS}
    assert tuple(gen_records.WRONG_TYPE) == tuple(gen_records.IMPOSSIBLE) == KIND_IDS


@IDS
def test_data_gen_writes_the_event_time_in_the_tables_format(kind, one_day):
    made = one_day[kind.id]
    assert made, f"no {kind.id} record in a simulated day"
    for record in made[:200]:
        text = record[kind.event_time]
        assert datetime.strptime(text, kind.time_format).strftime(kind.time_format) == text
        assert record[kind.record_id] is not None
        assert schemas.validate_record(kind.id, json.dumps(record)).ok


@IDS
def test_a_bad_timestamp_from_data_gen_is_not_in_the_tables_format(kind, one_day):
    import random

    record = one_day[kind.id][0]
    bad = json.loads(gen_records.malform(kind.id, record, "bad_timestamp", random.Random(1)))
    with pytest.raises(ValueError):
        datetime.strptime(bad[kind.event_time], kind.time_format)
    assert schemas.validate_record(kind.id, json.dumps(bad)).reason.startswith("bad timestamp")


def test_writers_pipelines_and_analytics_read_the_table():
    from etl_lib.pipelines.__main__ import build_parser
    from etl_lib.pipelines.streaming import EVENT_TYPES
    from etl_lib.writers import TOPIC_FOLDERS

    assert TOPIC_FOLDERS == {k.id: k.folder for k in KINDS}
    assert EVENT_TYPES == tuple(k.event_type for k in KINDS)
    topic = next(a for a in build_parser(load_settings({}))._actions if a.dest == "topic")
    assert tuple(topic.choices) == KIND_IDS and topic.default in KIND_IDS
    for a in ANALYTICS:
        assert set(a.inputs) <= {COMBINED, *KIND_IDS}, f"{a.name} reads a stream that is no kind: {a.inputs}"


def _sources() -> list[Path]:
    return sorted(p for package in ("etl_lib", "data_gen") for p in (ROOT / package).rglob("*.py"))


def test_no_module_spells_the_time_format_again():
    """Only the table writes the time format; the others take it from there (so a change is one line)."""
    home = ROOT / "etl_lib" / "core" / "kinds.py"
    exercises = ROOT / "etl_lib" / "exercises"
    spelled = []
    for path in _sources():
        if path == home or exercises in path.parents:
            continue
        text = path.read_text()
        spelled += [f"{path.relative_to(ROOT)}: {f!r}" for f in (TIME_FORMAT, SPARK_TIME_FORMAT) if f in text]
    assert not spelled, f"the kinds' time format written outside etl_lib/core/kinds.py: {spelled}"


def test_the_exercises_quote_the_tables_spark_format():
    """The exercises' hints quote the format to students in prose: whatever they quote is the table's."""
    shape = re.compile(r"y{2,4}-M{1,2}-d{1,2}[ T]H{1,2}:m{1,2}(?::s{1,2})?")
    quoted = {m for p in (ROOT / "etl_lib" / "exercises").rglob("*.py") for m in shape.findall(p.read_text())}
    assert quoted <= {SPARK_TIME_FORMAT}, quoted


def test_docs_records_has_the_tables_rows():
    docs = (ROOT / "docs" / "records.md").read_text()
    topics = load_settings({}).kafka_topics
    for k in KINDS:
        row = (f"| `{k.id}` | `{k.setting}` (`{topics[k.id]}`) | `{k.event_time}` | `{k.record_id}` | "
               f"`{k.folder}` | `{k.parser}` |")
        assert row in docs, f"docs/records.md lacks the row of {k.id}: {row}"
