"""Every solution notebook graded on the real broker and Spark: all pass; a typical Spark mistake is caught with a
message a student can act on; grade-class on the Kafka exercises gives each sandboxed student a broker of their own,
which an attacker beside them cannot leave to reach the instructor's."""

from __future__ import annotations

import os
import shutil
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
    def no_watermark(bikes, write):
        from pyspark.sql import functions as F

        return (bikes.groupBy(F.window("start_time", "15 minutes")).agg(F.count("*").alias("trips"))
                .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                        "trips")
                .writeStream.outputMode("append").foreachBatch(write).start())

    result = check("windowed_counts", no_watermark, context, quiet=True)
    assert result.status == "fail" and "append mode with an aggregation needs a watermark" in result.failure


# An attacker's exercise cell: the address of the test's broker (the instructor's, outside every sandbox) is
# written into it; it tries a raw connection, then to list and delete every topic there.
REACH_OUT = """
import socket
from kafka import KafkaAdminClient
host, port = "OUTSIDE".rsplit(":", 1)
try:
    socket.create_connection((host, int(port)), timeout=5).close()
    print("ATTACK CONNECTED")
except OSError as err:
    print("ATTACK refused", type(err).__name__, err)
try:
    admin = KafkaAdminClient(bootstrap_servers="OUTSIDE", request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
    topics = [t for t in admin.list_topics() if not t.startswith("__")]
    admin.delete_topics(topics)
    print("ATTACK DELETED", topics)
except Exception as err:
    print("ATTACK admin failed", type(err).__name__)
"""


def _sandboxed(settings) -> bool:
    from etl_lib.exercises.sandbox import SandboxUnavailable, find_sandbox

    try:
        find_sandbox(settings, memory_mb=1000)
        return True
    except SandboxUnavailable as err:
        if os.environ.get("REQUIRE_SANDBOX"):
            pytest.fail(f"REQUIRE_SANDBOX is set but grade-class's sandbox cannot run here: {err}")
        return False


@pytest.fixture(scope="module")
def kafka_class(settings, tmp_path_factory):
    """grade-class (two at a time) on ana (the lesson 04 solutions), boris (an endless loop in send_keyed) and,
    where the sandbox runs, eve (whose cell reaches for the test's broker, with an "instructor" topic on it),
    while the test lists the topics of its broker as they come and go.  Without a sandbox: ``--no-sandbox``,
    the class on the test's broker.  Returns (rows, output, topics seen, topics left, the instructor's topic,
    sandboxed, broker processes left, grade-class's seconds)."""
    import csv
    import subprocess
    import sys
    import time

    import nbformat

    from etl_lib.core.kafka import _admin, create_topics

    sandboxed = _sandboxed(settings)
    tmp_path = tmp_path_factory.mktemp("kafka-class")
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
    instructor = f"instructor-{tmp_path.name}"
    create_topics(settings, [instructor], 1)
    if sandboxed:
        blank = nbformat.read(ROOT / "exercises" / notebook.name, as_version=4)
        cell = next(c for c in blank.cells if "exercise" in c.metadata.get("tags", []))
        cell.source += "\n" + REACH_OUT.replace("OUTSIDE", settings.kafka_bootstrap_servers)
        (subs / "eve").mkdir()
        nbformat.write(blank, subs / "eve" / notebook.name)
    seen: set[str] = set()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "DATA_DIR": str(tmp_path / "data")}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(subs), "--out",
                             str(tmp_path / "out"), "--timeout", "45", "--jobs", "2",
                             *([] if sandboxed else ["--no-sandbox"])], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    admin = _admin(settings)
    try:
        while proc.poll() is None:  # the topics the graders create on this broker, as they come and go
            seen |= {t for t in admin.list_topics() if t.startswith("exercise.")}
            time.sleep(0.5)
        seconds = time.monotonic() - t0
        left = set(admin.list_topics())
    finally:
        admin.close()
        if proc.poll() is None:
            proc.kill()
    out = proc.stdout.read()
    assert proc.returncode == 0, out
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    brokers = _brokers_under(tmp_path)
    yield rows, tmp_path / "out", out, seen, left, instructor, sandboxed, brokers, seconds
    admin = _admin(settings)
    try:
        admin.delete_topics([instructor])
    finally:
        admin.close()


def _brokers_under(folder: Path) -> list[str]:
    """Live Kafka broker JVMs whose command line names ``folder`` (their storage lies under it)."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in cmd and str(folder) in cmd:
            found.append(f"{pid}: {cmd[:160]}")
    return found


def test_a_class_on_kafka_each_student_on_a_broker_of_their_own(kafka_class, settings):
    """In the sandbox each student's grader starts a broker of its own inside it (two at once, both at
    127.0.0.1:9092 in their own network namespaces): no case topic ever appears on the test's broker, and
    every student's broker ends with their grading.  Without a sandbox (--no-sandbox) the class shares the
    test's broker, each student on topics under their own name, and a stopped student's are deleted."""
    rows, out_dir, out, seen, left, _, sandboxed, brokers, seconds = kafka_class
    print(f"grade-class took {seconds:.0f} s")
    assert (rows["ana"]["outcome"], rows["ana"]["send_keyed"], rows["ana"]["records_per_partition"]) == (
        "graded", "pass", "pass")
    assert (rows["boris"]["outcome"], rows["boris"]["send_keyed"]) == ("timeout", "timeout")
    assert "while grading send_keyed" in rows["boris"]["note"]
    assert not brokers, f"broker processes outlived grade-class: {brokers}"
    assert not {t for t in left if t.startswith("exercise.")}, f"case topics left behind: {left}"
    if sandboxed:
        assert "Sandbox: bubblewrap" in out and "Kafka: each student's own broker" in out, out
        assert settings.kafka_bootstrap_servers not in out
        assert not seen, f"case topics on the broker outside the sandboxes: {seen}"
        # Each grader started its broker in its own work folder: boris's, kept as he was stopped, shows it.
        assert (out_dir / "work" / "boris" / "kafka" / "broker.log").exists()
    else:
        assert "Sandbox: none" in out and "Kafka: " + settings.kafka_bootstrap_servers in out, out
        assert {t.split(".")[1] for t in seen} == {"ana", "boris"}, seen  # each on topics under their own name


def test_an_attacker_cannot_reach_the_broker_outside_its_sandbox(kafka_class):
    """eve's cell, given the address of the test's broker, gets a connection refused by the kernel (her
    network namespace has only its own loopback): the instructor's topic is still there, and ana beside her
    passes on her own broker."""
    rows, out_dir, _, _, left, instructor, sandboxed, *_ = kafka_class
    if not sandboxed:
        pytest.skip("no sandbox here: --no-sandbox shares the broker, as its gradebook says")
    log = (out_dir / "logs" / "eve.txt").read_text(encoding="utf-8")
    assert "ATTACK refused ConnectionRefusedError" in log, log
    assert "ATTACK admin failed NoBrokersAvailable" in log, log
    assert "CONNECTED" not in log and "DELETED" not in log
    assert instructor in left
    assert rows["eve"]["outcome"] == "graded" and rows["eve"]["passed"] == "0"
    assert (rows["ana"]["send_keyed"], rows["ana"]["records_per_partition"]) == ("pass", "pass")
