"""Two kit runs on one real broker: the second is refused before it deletes the first's topics, the run that started
the broker leaves it to the run still using it, and the last user stops it; grade-class stops the broker it started.

Each run is a process of its own, siblings under the test (a process and its own children count as one run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl_lib.config import load_settings
from etl_lib.core import sharing
from etl_lib.core.broker import _is_our_broker, ensure_broker, terminate
from etl_lib.core.kafka import broker_answers, end_offsets, free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)

# The run that starts the broker (as `make demo` does) and holds it until told to go.
_OWNER = """
import sys
from etl_lib.core.broker import ensure_broker
with ensure_broker() as broker:
    print(broker.pid, broker.owned, flush=True)
    sys.stdin.readline()
"""

# Another run that uses the broker on no topic of the kit's (a notebook, a grader), until told to go.
_USER = """
import sys
from etl_lib.core.settings import get_settings
from etl_lib.core.sharing import register
register(get_settings())
print("registered", flush=True)
sys.stdin.readline()
"""


def _env(bootstrap: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATA_DIR": str(data_dir),
            "SPARK_UI_ENABLED": "false", "PYTHONUNBUFFERED": "1"}


def _start(code: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kafka_jvms(folder: Path) -> list[int]:
    """Broker JVMs whose command line names a path under ``folder`` (their server.properties)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in cmdline and str(folder).encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_a_second_run_is_refused_and_the_last_user_stops_the_broker(tmp_path, capsys):
    bootstrap = f"127.0.0.1:{free_port()}"
    owner = _start(_OWNER, _env(bootstrap, tmp_path / "clone1"))
    user = None
    broker_pid = None
    try:
        first = owner.stdout.readline().split()
        assert first and first[1] == "True", owner.stderr.read()
        broker_pid = int(first[0])
        settings = load_settings({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATA_DIR": str(tmp_path / "test")})
        from etl_lib.lab.notebook import send_json

        send_json(bootstrap, "bike-trips", [{"held": "by the first run"}], settings)

        # Ctrl+C in the first run's terminal reaches its Python, not the broker (its Python decides what to stop).
        os.kill(broker_pid, signal.SIGINT)
        time.sleep(2)
        assert _is_our_broker(broker_pid) and broker_answers(settings)

        # A second demo, same port, another clone: refused before it deletes anything.
        second = subprocess.run([sys.executable, "-m", "etl_lib", "demo", "--days", "1"], cwd=ROOT,
                                env=_env(bootstrap, tmp_path / "clone2"), capture_output=True, text=True, timeout=180)
        with capsys.disabled():  # shown with -s: what the second demo prints
            print("\n" + second.stdout + second.stderr)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert "(already running, reused; 1 other kit run uses it too)" in second.stdout
        assert second.stderr.startswith("Error: Another kit run uses the topics accidents, bike-trips, taxi-trips, "
                                        f"weather-data on the Kafka broker at {bootstrap}, which this run would "
                                        f"delete and recreate: pid {owner.pid} (`python -c import sys")
        assert f"DATA_DIR={tmp_path / 'clone1'}" in second.stderr and "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:" in second.stderr
        held = end_offsets(settings, ["bike-trips"])["bike-trips"]
        assert sum(held.values()) == 1, "the first run's topic was not deleted"
        assert not (tmp_path / "clone2" / "kafka").exists(), "no second broker was started"

        # The first run ends while another still uses the broker: left running, and it says so.
        user = _start(_USER, _env(bootstrap, tmp_path / "notebook"))
        assert user.stdout.readline().strip() == "registered", user.stderr.read()
        owner.stdin.write("\n")
        owner.stdin.flush()
        assert owner.wait(timeout=60) == 0
        said = owner.stderr.read()
        assert f"Kafka broker at {bootstrap} (pid {broker_pid}) left running" in said and f"pid {user.pid}" in said
        assert broker_answers(settings) and _is_our_broker(broker_pid)

        # That user ends too; the next run to use the broker is its last user, and stops it on leaving.
        user.stdin.write("\n")
        user.stdin.flush()
        assert user.wait(timeout=60) == 0
        with ensure_broker(settings, create_kit_topics=False) as handle:
            assert not handle.owned and handle.bootstrap_servers == bootstrap
        assert "this run was the last" in capsys.readouterr().err
        assert not broker_answers(settings, timeout=1.0)
        assert not _is_our_broker(broker_pid) and sharing.broker_note(bootstrap) is None
    finally:
        for proc in (owner, user):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if broker_pid is not None and _is_our_broker(broker_pid):
            terminate(broker_pid, None, timeout=30)


def test_grade_class_stops_the_broker_it_started(tmp_path):
    """With --no-sandbox the class shares one broker, which grade-class starts and stops (in its sandbox each
    student's grader starts its own: tests/integration/test_exercises_graded.py)."""
    bootstrap = f"127.0.0.1:{free_port()}"
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ana.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                                                  '"nbformat_minor": 5}')  # no lesson in its name: needs Kafka
    env = _env(bootstrap, tmp_path / "data")
    try:
        done = subprocess.run([sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(tmp_path / "class"),
                               "--out", str(tmp_path / "out"), "--timeout", "120", "--no-sandbox"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "started for this class; stopped when it is graded" in done.stdout
        assert (tmp_path / "out" / "gradebook.csv").exists()
        gone = load_settings({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATA_DIR": str(tmp_path / "t")})
        assert not broker_answers(gone, timeout=1.0)
        assert _kafka_jvms(tmp_path) == [], "no broker JVM left behind"
        assert not (tmp_path / "data" / "kafka" / "broker.pid").exists()
    finally:
        for pid in _kafka_jvms(tmp_path):
            terminate(pid, None, timeout=30)
