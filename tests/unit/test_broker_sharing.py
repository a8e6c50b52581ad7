"""Kit runs sharing one broker (``etl_lib.core.sharing``), without a JVM.

Stand-in processes play the other runs and the broker: a "stranger" is a
sleeping Python that registered itself and whose parent has exited, so it is
no kin of the test process (as a second clone's ``make demo`` is no kin of the
first); a fake broker is a sleeping Python with ``kafka.Kafka`` on its command
line, which is how the kit recognises its broker's process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from etl_lib.config import load_settings
from etl_lib.core import sharing
from etl_lib.core.broker import LocalKafka, _is_our_broker, ignoring_ctrl_c
from etl_lib.core.errors import BrokerError, BrokerInUseError
from etl_lib.core.kafka import free_port, reset_topics

ROOT = Path(__file__).resolve().parents[2]
KIT_TOPICS = ["bike-trips", "taxi-trips", "weather-data", "accidents"]

pytestmark = pytest.mark.timeout(120)

# A registered run that waits until killed; started through `sh ... &` so that its parent (sh) is gone at once.
_STRANGER = """
import sys, time
from etl_lib.config import load_settings
from etl_lib.core import sharing
s = load_settings({"DATA_DIR": sys.argv[1], "KAFKA_BOOTSTRAP_SERVERS": sys.argv[2]})
sharing.register(s, sys.argv[3].split(",") if sys.argv[3] else (), outputs=sys.argv[4] == "outputs")
time.sleep(120)
"""


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry of this test's own (children inherit it through XDG_CACHE_HOME); this process's claims go."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield sharing.registry_root()
    sharing._release_all()


@pytest.fixture
def bootstrap():
    return f"127.0.0.1:{free_port()}"


def _wait_for(check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stranger(registry, bootstrap, tmp_path):
    """Start another kit run (no kin of this process) on ``bootstrap`` claiming ``topics``; killed at the end."""
    pids: list[int] = []

    def start(topics=(), data_dir: Path | None = None, outputs: bool = False, on: str = bootstrap) -> int:
        data_dir = data_dir or tmp_path / f"stranger{len(pids)}"
        out = subprocess.run(["sh", "-c", '"$@" >/dev/null 2>&1 & echo $!', "sh", sys.executable, "-c", _STRANGER,
                              str(data_dir), on, ",".join(topics), "outputs" if outputs else ""],
                             capture_output=True, text=True, timeout=10, cwd=ROOT,
                             env={**os.environ, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})
        pid = int(out.stdout.strip())
        pids.append(pid)
        _wait_for(lambda: any(r.pid == pid for r in sharing.live_runs(on)), "the stranger's claim")
        return pid

    yield start
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _settings(tmp_path: Path, bootstrap: str, name: str = "me"):
    return load_settings({"DATA_DIR": str(tmp_path / name), "KAFKA_BOOTSTRAP_SERVERS": bootstrap})


def _fake_broker() -> subprocess.Popen:
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "kafka.Kafka"])
    _wait_for(lambda: _is_our_broker(fake.pid), "the fake broker's command line")  # set a moment after Popen
    return fake


# ----------------------------------------------------------------------------- who uses the broker
def test_a_run_sees_another_live_run_but_never_itself_or_its_kin(registry, bootstrap, stranger, tmp_path):
    other = stranger(["bike-trips"])
    mine = sharing.register(_settings(tmp_path, bootstrap), ["mine.bike-trips"])
    child = subprocess.Popen([sys.executable, "-c", _STRANGER, str(tmp_path / "child"), bootstrap, "", ""],
                             cwd=ROOT)
    try:
        _wait_for(lambda: any(r.pid == child.pid for r in sharing.live_runs(bootstrap)), "the child's claim")
        live = {r.pid: r for r in sharing.live_runs(bootstrap)}
        assert set(live) == {os.getpid(), other, child.pid}
        assert live[other].topics == {"bike-trips"} and live[other].data_dirs == (str(tmp_path / "stranger0"),)
        assert "python" in live[other].command and "-c" in live[other].command
        # This process and its child are one run (grade-class and its graders); the stranger is another.
        assert [r.pid for r in sharing.other_runs(bootstrap)] == [other]
        if os.getppid() > 1:
            assert sharing.same_run(os.getppid()), "an ancestor (the shell that started pytest) is the same run too"
    finally:
        child.kill()
        child.wait(timeout=10)
    mine.release()
    assert {r.pid for r in sharing.live_runs(bootstrap)} == {other}, "released, and the dead child pruned"
    assert not (registry / sharing.address_key(bootstrap) / "runs" / f"{child.pid}.json").exists()


def test_localhost_and_127_0_0_1_are_one_broker(registry, bootstrap, stranger):
    other = stranger(["bike-trips"])
    port = bootstrap.rpartition(":")[2]
    assert [r.pid for r in sharing.other_runs(f"localhost:{port}")] == [other]
    assert [r.pid for r in sharing.other_runs(f"127.0.0.1:{free_port()},localhost:{port}")] == [other]


def test_ended_runs_and_recycled_pids_block_nobody(registry, bootstrap, stranger):
    runs = registry / sharing.address_key(bootstrap) / "runs"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           timeout=30)
    dead = int(ended.stdout)
    alive = stranger()
    for pid, token in ((dead, "1"), (alive, "not-its-start-time")):  # the second: a pid the system gave again
        (runs / f"{pid}.json").write_text(json.dumps({"pid": pid, "start": token, "command": "old run", "since": 0,
                                                      "claims": {"x": {"data_dir": "/old", "topics": KIT_TOPICS}}}))
    assert sharing.other_runs(bootstrap) == []
    sharing.refuse_reset(bootstrap, KIT_TOPICS)  # nothing raised
    assert not list(runs.glob("*.json")), "the files of ended runs are pruned as they are read"


# ----------------------------------------------------------------------------- the refusal
def test_reset_is_refused_with_one_message_naming_the_other_run_and_the_fix(registry, bootstrap, stranger, tmp_path):
    other = stranger(KIT_TOPICS, data_dir=tmp_path / "clone1" / "data")
    with pytest.raises(BrokerInUseError) as err:
        sharing.refuse_reset(bootstrap, KIT_TOPICS)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("Another kit run uses the topics accidents, bike-trips, taxi-trips, weather-data on "
                           f"the Kafka broker at {bootstrap}, which this run would delete and recreate: pid {other}")
    assert f"pid {other} (`python" in text and f"DATA_DIR={tmp_path / 'clone1' / 'data'}" in text
    assert "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:" in text and "KAFKA_TOPIC_*" in text and "Wait until it ends" in text
    spare = int(text.split("KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:")[1].split(";")[0])
    assert spare != int(bootstrap.rpartition(":")[2])

    sharing.refuse_reset(bootstrap, [f"mine.{t}" for t in KIT_TOPICS])  # topics of its own: allowed


def test_a_second_demo_in_the_same_data_dir_is_refused_even_on_a_broker_and_topics_of_its_own(
        registry, bootstrap, stranger, tmp_path):
    """Another port alone is no fix within one clone: both demos would empty and write the same output folders."""
    other = stranger(KIT_TOPICS, data_dir=tmp_path / "data", outputs=True)
    elsewhere = f"127.0.0.1:{free_port()}"
    with pytest.raises(BrokerInUseError) as err:
        sharing.refuse_reset(elsewhere, ["mine.bike-trips"], data_dir=tmp_path / "data")
    assert str(err.value).startswith(f"Another kit run uses DATA_DIR={tmp_path / 'data'}, whose outputs this run "
                                     f"would empty: pid {other}")
    assert str(err.value).endswith("Wait until it ends, or give this run a DATA_DIR of its own.")
    with pytest.raises(BrokerInUseError, match="a DATA_DIR of its own and either a broker of its own"):
        sharing.refuse_reset(bootstrap, KIT_TOPICS, data_dir=tmp_path / "data")
    sharing.refuse_reset(elsewhere, KIT_TOPICS, data_dir=tmp_path / "data2")


def test_a_run_that_only_reads_in_a_data_dir_does_not_block_the_demo_there(registry, bootstrap, stranger,
                                                                           tmp_path):
    stranger([], data_dir=tmp_path / "data")  # grade-class: its gradebook under DATA_DIR, no output of the demo's
    sharing.refuse_reset(bootstrap, KIT_TOPICS, data_dir=tmp_path / "data")


def test_a_second_broker_never_takes_the_storage_of_a_running_one(registry, tmp_path, monkeypatch):
    """One clone, a second port: the storage DATA_DIR/kafka holds the first broker's topics; formatting it afresh
    for the second would delete them."""
    from etl_lib.core import jvm

    def no_java():
        raise AssertionError("the storage check comes before any JVM")

    monkeypatch.setattr(jvm, "java_executable", no_java)
    fake = _fake_broker()
    try:
        storage = tmp_path / "kafka"
        storage.mkdir()
        (storage / "broker.pid").write_text(str(fake.pid))
        (storage / "server.properties").write_text("advertised.listeners=PLAINTEXT://127.0.0.1:9092\n")
        with pytest.raises(BrokerError) as err:
            LocalKafka(f"127.0.0.1:{free_port()}", storage).start()
        assert f"belongs to the Kafka broker running as pid {fake.pid} at 127.0.0.1:9092" in str(err.value)
        assert "DATA_DIR of its own" in str(err.value) and "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092" in str(err.value)
        assert fake.poll() is None and not (storage / "kraft").exists()
    finally:
        fake.kill()
        fake.wait(timeout=10)


def test_reset_topics_refuses_before_it_touches_the_broker(registry, bootstrap, stranger, tmp_path):
    """No broker listens at ``bootstrap``: the refusal, not a connection error, proves nothing was tried."""
    stranger(["bike-trips"])
    settings = load_settings({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATA_DIR": str(tmp_path)})
    with pytest.raises(BrokerInUseError, match="bike-trips"):
        reset_topics(settings, ["bike-trips", "taxi-trips"])


# ----------------------------------------------------------------------------- who stops the broker
def test_the_starter_leaves_a_shared_broker_running_and_the_last_user_stops_it(registry, bootstrap, stranger,
                                                                               tmp_path, capsys):
    fake = _fake_broker()
    try:
        owner = LocalKafka(bootstrap, tmp_path / "kafka", owned=True, pid=fake.pid, _proc=fake)
        sharing.note_broker(bootstrap, fake.pid, owner.data_dir, temporary=True)
        other = stranger(KIT_TOPICS)
        owner.stop()
        err = capsys.readouterr().err
        assert fake.poll() is None, "a broker another run still uses is left running"
        assert f"(pid {fake.pid}) left running" in err and f"pid {other}" in err and "\n" not in err.strip()
        assert not owner.owned and sharing.broker_note(bootstrap).starter is None, "handed over"

        LocalKafka(bootstrap, tmp_path / "kafka").stop()  # a user leaves while the stranger still uses it
        assert fake.poll() is None
        os.kill(other, signal.SIGKILL)
        _wait_for(lambda: not sharing.other_runs(bootstrap), "the stranger to end")
        LocalKafka(bootstrap, tmp_path / "kafka").stop()  # the last user
        assert fake.wait(timeout=30) is not None
        assert "this run was the last" in capsys.readouterr().err
        assert sharing.broker_note(bootstrap) is None
    finally:
        fake.kill()
        fake.wait(timeout=10)


def test_a_user_never_stops_a_detached_broker_or_one_whose_starter_is_still_there(registry, bootstrap, tmp_path):
    fake = _fake_broker()
    try:
        sharing.note_broker(bootstrap, fake.pid, tmp_path / "kafka", temporary=False)  # make broker-start
        sharing.hand_over(bootstrap)
        LocalKafka(bootstrap, tmp_path / "kafka").stop()
        assert fake.poll() is None
        sharing.note_broker(bootstrap, fake.pid, tmp_path / "kafka", temporary=True)  # started by this process
        LocalKafka(bootstrap, tmp_path / "kafka").stop()
        assert fake.poll() is None, "the run that started it stops it itself"
    finally:
        fake.kill()
        fake.wait(timeout=10)


def test_the_starter_stops_its_broker_when_no_other_run_uses_it(registry, bootstrap, tmp_path):
    fake = _fake_broker()
    owner = LocalKafka(bootstrap, tmp_path / "kafka", owned=True, pid=fake.pid, _proc=fake)
    sharing.note_broker(bootstrap, fake.pid, owner.data_dir, temporary=True)
    owner.claim = sharing.register(_settings(tmp_path, bootstrap), KIT_TOPICS)
    owner.stop()
    assert fake.poll() is not None and sharing.broker_note(bootstrap) is None and sharing.live_runs(bootstrap) == []


def test_broker_stop_on_the_command_line_is_refused_while_another_run_uses_it(registry, bootstrap, stranger,
                                                                              tmp_path):
    fake = _fake_broker()
    try:
        data = tmp_path / "data"
        (data / "kafka").mkdir(parents=True)
        (data / "kafka" / "broker.pid").write_text(str(fake.pid))
        other = stranger(KIT_TOPICS)
        env = {**os.environ, "DATA_DIR": str(data), "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        run = lambda *a: subprocess.run([sys.executable, "-m", "etl_lib", "broker", "stop", *a], cwd=ROOT,
                                        env=env, capture_output=True, text=True, timeout=60)
        refused = run()
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert refused.stderr.startswith(f"Error: Not stopping the Kafka broker at {bootstrap} (pid {fake.pid})")
        assert f"pid {other}" in refused.stderr and "--force" in refused.stderr
        assert fake.poll() is None
        forced = run("--force")
        assert forced.returncode == 0 and f"Stopped the Kafka broker (pid {fake.pid})" in forced.stdout
        assert fake.wait(timeout=30) is not None
    finally:
        fake.kill()
        fake.wait(timeout=10)


def test_ctrl_c_reaches_the_python_that_started_the_broker_not_the_broker():
    probe = "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
    shown = subprocess.run(ignoring_ctrl_c([sys.executable, "-c", probe]), capture_output=True, text=True, timeout=30)
    assert shown.stdout.strip() == "True"


# ----------------------------------------------------------------------------- grade-class
class _FakeBroker:
    def __init__(self, owned: bool) -> None:
        self.owned, self.stopped = owned, False

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_grade_class_stops_the_broker_it_started_also_on_ctrl_c_and_errors(failure, tmp_path, monkeypatch, capsys):
    from etl_lib.core import broker as broker_module
    from etl_lib.exercises import classroom

    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ana.ipynb").write_text('{"cells": []}')  # no lesson in its name: may need Kafka
    fake = _FakeBroker(owned=True)
    monkeypatch.setattr(broker_module, "ensure_broker", lambda settings, create_kit_topics=True: fake)

    def fail(*args, **kwargs):
        raise failure("stop")

    monkeypatch.setattr(classroom, "grade_class", fail)
    args = argparse.Namespace(submissions=tmp_path / "class", out=tmp_path / "out", timeout=10.0, memory_mb=100,
                              jobs=1, same_cases=False, no_sandbox=True, max_processes=2048)
    if failure is KeyboardInterrupt:
        assert classroom.grade_class_main(args) == 130
        assert "Interrupted" in capsys.readouterr().err
    else:
        with pytest.raises(RuntimeError):
            classroom.grade_class_main(args)
    assert fake.stopped


def test_ctrl_c_stops_the_students_being_graded_and_starts_no_other(tmp_path):
    """The class is interrupted while the first student's code loops: its grader is stopped at once, the second
    student is never started, and grade_class ends, so that the broker can be stopped with no grader on it."""
    import nbformat

    from etl_lib.exercises import classroom

    src = ROOT / "exercises" / "solutions" / "01_configuration.ipynb"
    nb = nbformat.read(src, as_version=4)
    cell = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    cell.source = "while True:\n    pass\n" + cell.source
    for student in ("ana", "boris"):
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "class" / student / src.name)
    subs, _ = classroom.find_submissions(tmp_path / "class")
    settings = _settings(tmp_path, f"127.0.0.1:{free_port()}")
    report = tmp_path / "out" / "reports" / "ana.jsonl"
    # Ctrl+C (a real SIGINT: it wakes the main thread's wait) once the first student's grader runs the loop.
    waiter = threading.Thread(target=lambda: (_wait_for(lambda: report.exists() and "load" in report.read_text(),
                                                        "the grader to load the notebook", 60),
                                              os.kill(os.getpid(), signal.SIGINT)))
    waiter.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        classroom.grade_class(subs, tmp_path / "out", settings, timeout=40, memory_mb=4000, echo=lambda line: None)
    waiter.join(timeout=10)
    assert time.monotonic() - t0 < 30, "stopped at once, not after the time limit"
    assert not (tmp_path / "out" / "logs" / "boris.txt").exists(), "the next student was never started"
