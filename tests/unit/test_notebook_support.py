"""Library support for the notebooks: lesson settings, display helper, doctor output, navigation script."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from etl_lib.config import load_settings
from etl_lib.lab.doctor import Check, format_checks, run_checks
from etl_lib.lab.notebook import lesson_settings, setup, show

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import nbnav  # noqa: E402


def test_lesson_settings_isolate_data_and_topics(tmp_path):
    base = load_settings({"DATA_DIR": str(tmp_path)})
    s = lesson_settings("05", base)
    assert s.data_dir == tmp_path / "notebooks" / "05"
    assert s.analytics_output_path == tmp_path / "notebooks" / "05" / "analytics"
    assert s.kafka_topic_bike == "05.bike-trips" and not s.spark_ui_enabled
    assert lesson_settings("01", base, topics=False).kafka_topic_bike == "bike-trips"


def test_setup_without_kafka_is_deterministic(tmp_path, monkeypatch, capsys):
    import random

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    from etl_lib import config

    config.get_settings.cache_clear()
    try:
        lesson = setup("01", seed=3, kafka=False)
        first = random.random()
        setup("01", seed=3, kafka=False)
        assert random.random() == first
        assert lesson.settings.data_dir.exists() and not lesson.kafka
        assert capsys.readouterr().out.strip().splitlines()[-1] == "Lesson 01 ready: seed 3"
    finally:
        config.get_settings.cache_clear()


def test_show_rounds_and_limits():
    df = pd.DataFrame({"x": [1.23456, 2.0, 3.0], "y": ["a", "b", "c"]})
    out = show(df, n=2, decimals=2)
    assert list(out["x"]) == [1.23, 2.0] and len(out) == 2


def test_doctor_formats_fixes():
    text = format_checks([Check("Java 17 or newer", True, "found"), Check("Kafka broker answering", False, "start it")])
    assert text.splitlines() == ["OK   Java 17 or newer        found", "FIX  Kafka broker answering  start it"]


def test_doctor_finds_missing_broker(monkeypatch):
    from etl_lib.core.kafka import free_port

    checks = run_checks(load_settings({"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}), spark=False)
    broker = next(c for c in checks if c.name == "Kafka broker answering")
    assert not broker.ok and "make broker-start" in broker.detail
    assert next(c for c in checks if c.name == "pyspark and Scala").detail.endswith("Scala 2.13")


def test_doctor_names_the_fix_for_an_unbuilt_producer(monkeypatch, tmp_path):
    from etl_lib.core import jvm as _jvm

    monkeypatch.setattr(_jvm, "PRODUCER_JAR", str(tmp_path / "absent.jar"))
    checks = run_checks(load_settings({}), spark=False)
    producer = next(c for c in checks if c.name == "data_gen's Java producer")
    assert not producer.ok and "make jars" in producer.detail and "PipeProducer.java" in producer.detail


def test_nbnav_is_rerunnable(tmp_path):
    for name in ("00_a.ipynb", "01_b.ipynb"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name[:2]} · Title {name}")])
        nbformat.write(nb, tmp_path / name)
    nbnav.update(tmp_path)
    nbnav.update(tmp_path)
    nb = nbformat.read(tmp_path / "00_a.ipynb", as_version=4)
    navs = [c for c in nb.cells if nbnav.MARKER in c.source]
    assert len(navs) == 1 and "[01_b →](01_b.ipynb)" in navs[0].source and "[contents](README.md)" in navs[0].source
    assert "[Title 01_b.ipynb](01_b.ipynb)" in (tmp_path / "README.md").read_text()


def test_committed_contents_page_is_current(tmp_path):
    copy = tmp_path / "nb"
    shutil.copytree(ROOT / "notebooks", copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nbnav.update(copy)
    assert (copy / "README.md").read_text() == (ROOT / "notebooks" / "README.md").read_text()



def test_demo_refuses_to_delete_outside_data_dir(tmp_path, monkeypatch, capsys):
    import pytest

    from etl_lib.config import get_settings, load_settings
    from etl_lib.lab.demo import UnsafeDeleteError, _outputs_to_clean, main

    inside = load_settings({"DATA_DIR": str(tmp_path / "data")})
    assert all(p.is_relative_to(tmp_path / "data") for p in _outputs_to_clean(inside))
    for bad in (str(tmp_path), "/", str(tmp_path / "data")):
        s = load_settings({"DATA_DIR": str(tmp_path / "data"), "OUTPUT_BASE_PATH": bad})
        with pytest.raises(UnsafeDeleteError, match="not inside DATA_DIR"):
            _outputs_to_clean(s)
    # Through the command: refused before the broker, topics or any folder is touched.
    (tmp_path / "keep.txt").write_text("mine")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHECKPOINT_BASE_PATH", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main([]) == 2  # a setting to change: exit code 2, like every program of the kit
    finally:
        get_settings.cache_clear()
    assert "refuses to delete" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_doctor_says_what_to_do_when_pyspark_is_missing(monkeypatch, capsys):
    """With pyspark absent (an import of it fails), doctor still prints every check and the fix, no traceback."""
    from etl_lib.lab import doctor

    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now raises ImportError
    assert doctor.main(["--no-spark"]) == 1
    out = capsys.readouterr().out
    assert "FIX  pyspark" in out and "make install" in out


def test_a_hand_made_bike_trip_is_valid():
    import json

    from etl_lib.lab.notebook import bike_trip
    from etl_lib.schemas import validate_record

    trip = bike_trip(7, "2018-04-02 08:01:00")
    assert trip["trip_id"] == "b7" and validate_record("bike", json.dumps(trip).encode()).ok


def test_send_json_refuses_keys_that_do_not_match_the_records():
    from etl_lib.lab.notebook import send_json

    with pytest.raises(ValueError, match="2 keys for 3 records"):  # before any connection is tried
        send_json("127.0.0.1:1", "t", [{}, {}, {}], keys=["a", "b"])


class _Query:
    def __init__(self, batches):
        self.recentProgress = [{}] * batches


class _Spark:
    """Enough of a SparkSession for stop_when_enough: the active queries and their progress."""

    def __init__(self, *batches):
        self.streams = type("Streams", (), {"active": [_Query(b) for b in batches]})()


def test_stop_when_enough_waits_for_the_time_and_for_every_query():
    import time

    from etl_lib.lab.live import stop_when_enough

    spark = _Spark(2, 1)  # one query has done only one micro-batch
    t0 = time.monotonic()
    with stop_when_enough(spark, seconds=0.2, min_batches=2, give_up_after=30) as enough:
        assert not enough.wait(1.5)  # the time is up, but not every query has two batches
        spark.streams.active[1].recentProgress.append({})
        assert enough.wait(5)
    assert time.monotonic() - t0 < 10
    with stop_when_enough(_Spark(0), seconds=0.1, give_up_after=0.6) as stuck:
        assert stuck.wait(5)  # a stuck query does not hang the lesson
    with stop_when_enough(_Spark(5), seconds=60) as early:
        pass
    assert early.is_set()  # leaving the block sets it and joins the watcher


def test_bfd_packing_plot_draws_every_file_of_every_bucket():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from etl_lib.pipelines import bfd_buckets, l2_lower_bound
    from etl_lib.plots import plot_bfd_packing

    mib = 1024 * 1024
    sizes = [6 * mib, 5 * mib, 4 * mib, 3 * mib, 2 * mib, mib // 2]
    buckets = bfd_buckets(sizes, 10 * mib)
    left, right = plot_bfd_packing(buckets, 10 * mib, l2_lower_bound(sizes, 10 * mib))
    drawn = [p.get_height() for p in left.patches if p.get_height() > 0]
    assert sorted(drawn) == sorted(s / mib for s in sizes)
    assert sum(p.get_height() for p in right.patches) == len(buckets)  # one histogram count per bucket
    plt.close("all")


def test_threads_overlap_waiting_and_lose_updates_without_the_lock():
    import time

    from etl_lib.lab.gil import count_with_threads, time_threads

    # Four sleeping threads take about as long as one: waiting releases the GIL.
    assert time_threads(lambda: time.sleep(0.3), 4) < 2 * 0.3
    assert count_with_threads(threads=8, per_thread=20_000, lock=True) == 160_000
    # Without the lock a read-call-write loses updates; in three runs at least one shows it.  Each thread must
    # run for many of CPython's 5 ms switch intervals (50,000 steps took about one: the threads then ran one after
    # another and lost nothing in 2 runs out of 5).
    assert any(count_with_threads(threads=4, per_thread=400_000, lock=False) < 1_600_000 for _ in range(3))
