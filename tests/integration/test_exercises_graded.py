"""Every solution notebook graded on the real broker and Spark: all pass; a typical Spark mistake is caught with a
message a student can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_lib.exercises import EXERCISES, check
from etl_lib.exercises.grader import Context, grade_folder

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def context(settings, spark, tmp_path_factory):
    return Context(settings.replace(data_dir=tmp_path_factory.mktemp("exercises")), spark)


def test_every_solution_passes_every_check(context, capsys):
    results = grade_folder(ROOT / "exercises" / "solutions", context)
    out = capsys.readouterr().out
    assert len(results) == len(EXERCISES) and all(r.status == "pass" for r in results), out
    assert f"score: {len(EXERCISES)} of {len(EXERCISES)} exercises pass" in out


def test_a_windowed_count_without_a_watermark_is_told_why(context):
    def no_watermark(bikes):
        from pyspark.sql import functions as F

        return (bikes.groupBy(F.window("start_time", "15 minutes")).agg(F.count("*").alias("trips"))
                .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                        "trips"))

    result = check("windowed_counts", no_watermark, context, quiet=True)
    assert result.status == "fail" and "append mode with an aggregation needs a watermark" in result.failure


def test_a_class_on_one_broker_each_student_on_topics_of_their_own(settings, tmp_path):
    """grade-class with Kafka exercises: the students' graders share the session's broker (no second one starts),
    each creates its case topics under its own name, and a student stopped mid-case leaves no topic behind.
    In grade-class's sandbox where it runs here (its graders reach the broker over the shared loopback)."""
    import csv
    import os
    import shutil
    import subprocess
    import sys
    import time

    import nbformat

    from etl_lib.core.kafka import _admin
    from etl_lib.exercises.sandbox import SandboxUnavailable, find_sandbox

    try:
        find_sandbox(settings, memory_mb=1000)
        flags = []
    except SandboxUnavailable as err:
        if os.environ.get("REQUIRE_SANDBOX"):
            pytest.fail(f"REQUIRE_SANDBOX is set but grade-class's sandbox cannot run here: {err}")
        flags = ["--no-sandbox"]

    notebook = ROOT / "exercises" / "solutions" / "04_kafka_and_data_gen.ipynb"
    subs = tmp_path / "class"
    (subs / "ana").mkdir(parents=True)
    shutil.copy(notebook, subs / "ana")
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("    producer = KafkaProducer(", "    while True:\n        pass\n"
                                      "    producer = KafkaProducer(", 1)
    assert "while True" in cell.source
    (subs / "boris").mkdir()
    nbformat.write(nb, subs / "boris" / notebook.name)
    seen: set[str] = set()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "etl_lib.exercises", "grade-class", str(subs), "--out",
                             str(tmp_path / "out"), "--timeout", "30", *flags], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    admin = _admin(settings.kafka_bootstrap_servers, settings)
    try:
        while proc.poll() is None:  # the topics the graders create, as they come and go
            seen |= {t for t in admin.list_topics() if t.startswith("exercise.")}
            time.sleep(0.5)
        left = {t for t in admin.list_topics() if t.startswith("exercise.")}
    finally:
        admin.close()
    out = proc.stdout.read()
    assert proc.returncode == 0, out
    assert "Kafka: " + settings.kafka_bootstrap_servers in out
    assert ("Sandbox: none" if flags else "Sandbox: bubblewrap") in out
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["ana"]["outcome"], rows["ana"]["send_keyed"], rows["ana"]["records_per_partition"]) == (
        "graded", "pass", "pass")
    assert (rows["boris"]["outcome"], rows["boris"]["send_keyed"]) == ("timeout", "timeout")
    assert "while grading send_keyed" in rows["boris"]["note"]
    assert any(t.startswith("exercise.ana.") for t in seen) and any(t.startswith("exercise.boris.") for t in seen)
    assert not {t for t in seen if not t.startswith(("exercise.ana.", "exercise.boris."))}
    assert not left, f"case topics left behind: {left}"
