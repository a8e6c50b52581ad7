"""Every bad setting of issue 35 ends in one message naming the setting, its value and the fix (no JVM, no broker).

One test (or a few) per row: DATA_DIR on a file, DATA_DIR read-only, an
unreachable SPARK_MASTER, a driver JVM that will not start, a missing topic,
and window durations whose analytics would mean something else.  The live
JVM and broker halves are in tests/integration/test_bad_settings_live.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl_lib.core.errors import ConfigError, KitError
from etl_lib.core.kafka import free_port
from etl_lib.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def _main(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m etl_lib run`` with ``env`` added; (the finished process, seconds it took)."""
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "etl_lib", "run", *args], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, timeout=60)
    return out, time.monotonic() - started


def _refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    return str(err.value)


# ------------------------------------------------------------------ 1. DATA_DIR is a file
def test_a_data_dir_that_is_a_file_is_named_with_the_fix(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder")
    message = _refused({"DATA_DIR": str(afile)})
    assert f"DATA_DIR={str(afile)!r} is a file, not a folder" in message
    assert "Point DATA_DIR at a folder you can write" in message
    message = _refused({"DATA_DIR": str(afile / "data")})
    assert f"lies under {str(afile)!r}, which is a file" in message


def test_a_data_dir_that_is_a_file_stops_the_etl_at_once_without_a_traceback(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder")
    out, seconds = _main({"DATA_DIR": str(afile)}, "--available-now")
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("Configuration error:\nDATA_DIR=") and "is a file" in out.stderr
    assert "Traceback" not in out.stderr and seconds < 15


# ------------------------------------------------------------------ 2. DATA_DIR read-only
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod 555 folder: chmod proves nothing here")
def test_a_read_only_data_dir_is_refused_as_the_operating_system_sees_it(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert "is a folder this user cannot write" in _refused({"DATA_DIR": str(folder)})
        assert f"({str(folder)!r} is read-only for this user)" in _refused({"DATA_DIR": str(folder / "data")})
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not os.path.isdir("/proc/sys") or os.access("/proc/sys", os.W_OK),
                    reason="needs a read-only /proc/sys (a container, or a user other than root)")
def test_a_data_dir_under_a_read_only_mount_is_refused_also_for_root():
    # /proc/sys is mounted read-only in containers: access(2) says so even to root (EROFS), so this is the
    # operating system's own answer, not a simulation.
    message = _refused({"DATA_DIR": "/proc/sys/etl-kit-data"})
    assert "DATA_DIR='/proc/sys/etl-kit-data' cannot be created ('/proc/sys' is read-only for this user)" in message


def test_the_read_only_message_when_access_says_no(tmp_path, monkeypatch):
    # Simulated: proves the wording and that the check asks os.access, not that any folder is read-only.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    message = _refused({"DATA_DIR": str(tmp_path)})
    assert f"DATA_DIR={str(tmp_path)!r} is a folder this user cannot write (read-only)" in message


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_folder_that_refuses_only_when_written_is_named_at_the_first_write(tmp_path):
    # access() calls /proc writable for root, yet procfs makes no folder: the real mkdir fails (no simulation).
    from etl_lib.spark import _make_log_folder, spark_log_file

    s = load_settings({"DATA_DIR": "/proc/etl-kit-data"}) if os.access("/proc", os.W_OK) else None
    if s is None:
        pytest.skip("/proc is not writable for this user: the settings' own check refuses it first")
    with pytest.raises(ConfigError, match=r"DATA_DIR='/proc/etl-kit-data' cannot be written: making "
                                          r"'/proc/etl-kit-data/logs' failed"):
        _make_log_folder(s, spark_log_file(s))


# ------------------------------------------------------------------ 3. SPARK_MASTER unreachable
def _start_spark(tmp_path: Path, master: str) -> str:
    """create_spark_session with ``master``; the master is checked before any JVM (java -version included)."""
    from etl_lib.spark import create_spark_session

    started = time.monotonic()
    with pytest.raises(KitError) as err:
        create_spark_session(load_settings({"SPARK_MASTER": master, "DATA_DIR": str(tmp_path)}))
    assert time.monotonic() - started < 15
    return f"{type(err.value).__name__}: {err.value}"


def test_a_spark_master_whose_host_is_unknown_is_named_before_spark_starts(tmp_path):
    # .invalid never resolves (RFC 2606), with or without a network.
    message = _start_spark(tmp_path, "spark://nowhere.invalid:7077")
    assert message.startswith("ConfigError: SPARK_MASTER='spark://nowhere.invalid:7077': the host "
                              "'nowhere.invalid' is not known here")
    assert "python -m etl_lib cluster up" in message and "SPARK_MASTER=local[4]" in message


def test_a_spark_master_nobody_listens_on_is_named_with_the_practice_cluster(tmp_path):
    port = free_port()
    message = _start_spark(tmp_path, f"spark://127.0.0.1:{port}")
    assert message.startswith(f"ClusterError: SPARK_MASTER='spark://127.0.0.1:{port}': nothing answers at "
                              f"127.0.0.1:{port} (Connection refused)")
    assert "python -m etl_lib cluster up" in message


def test_a_k8s_master_whose_host_is_unknown_points_at_kubectl(tmp_path):
    message = _start_spark(tmp_path, "k8s://https://nowhere.invalid:6443")
    assert "the host 'nowhere.invalid' is not known here" in message and "kubectl cluster-info" in message


def test_one_answering_master_of_a_list_is_enough():
    from etl_lib.spark import _require_master

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        _require_master(load_settings({"SPARK_MASTER": f"spark://nowhere.invalid:7077,127.0.0.1:{port}"}))
    _require_master(load_settings({"SPARK_MASTER": "local[2]"}))  # local mode: nothing to reach


# ------------------------------------------------------------------ 4. the driver JVM will not start
# What OpenJDK 17 and Spark 4.2's launcher wrote to the driver log in live failed starts of this kit
# (the integration test starts them for real).
JVM_SAID = {
    "heap too big": "Error occurred during initialization of VM\n"
                    "Could not reserve enough space for 104857600000KB object heap\n",
    "heap too small": "Error occurred during initialization of VM\nToo small maximum heap\n",
    "Xmx in options": "Error: Not allowed to specify max heap(Xmx) memory settings through java options (was "
                      "-Duser.timezone=UTC -Xmx1k). Use the corresponding --driver-memory or spark.driver.memory "
                      "configuration instead.\n\nWARNING: Using incubator modules: jdk.incubator.vector\n"
                      "Usage: spark-submit [options] <app jar | python file | R file> [app arguments]\n",
    "Xms above Xmx": "Error occurred during initialization of VM\n"
                     "Initial heap size set to a larger value than the maximum heap size\n",
    "stack too small": "\nThe Java thread stack size specified is too small. Specify at least 136k\n"
                       "Error: Could not create the Java Virtual Machine.\n"
                       "Error: A fatal exception has occurred. Program will exit.\n",
}


def _jvm_error(kind: str, **env: str) -> KitError:
    from etl_lib.spark import _jvm_start_error

    s = load_settings({k.upper(): v for k, v in env.items()})
    return _jvm_start_error(s, JVM_SAID[kind], Path("/data/logs/spark-driver.log"), 17)


def test_a_driver_memory_java_cannot_reserve_is_named_with_java_s_words():
    err = _jvm_error("heap too big", spark_driver_memory="100000g")
    assert isinstance(err, ConfigError)
    assert str(err) == (
        "The Spark driver JVM did not start. Java 17 said: Could not reserve enough space for 104857600000KB "
        "object heap\nSPARK_DRIVER_MEMORY='100000g' is the driver's heap (-Xmx100000g): use a size Java accepts "
        "and this machine can give, e.g. SPARK_DRIVER_MEMORY=2g (the default; `free -h` shows the memory).")
    assert "SPARK_DRIVER_MEMORY='1k'" in str(_jvm_error("heap too small", spark_driver_memory="1k"))


def test_a_heap_in_the_java_options_is_named_with_spark_s_words():
    message = str(_jvm_error("Xmx in options", spark_driver_java_options="-Xmx1k"))
    assert message.startswith("The Spark driver JVM did not start. Spark's launcher said: Not allowed to specify "
                              "max heap(Xmx) memory settings through java options. Use")
    assert "SPARK_DRIVER_JAVA_OPTIONS='-Xmx1k' sets the heap (-Xmx)" in message
    assert "set SPARK_DRIVER_MEMORY instead" in message and "-Duser.timezone" not in message


def test_heap_sizes_in_both_settings_name_both():
    message = str(_jvm_error("Xms above Xmx", spark_driver_java_options="-Xms4g"))
    assert "SPARK_DRIVER_MEMORY='2g'" in message and "SPARK_DRIVER_JAVA_OPTIONS='-Xms4g' sets heap sizes too" in message


def test_an_option_value_java_refuses_names_the_java_options():
    err = _jvm_error("stack too small", spark_driver_java_options="-Xss1k")
    assert isinstance(err, ConfigError)
    assert "Java 17 said: The Java thread stack size specified is too small" in str(err)
    assert "SPARK_DRIVER_JAVA_OPTIONS='-Xss1k' holds an option" in str(err)


def test_a_start_that_says_nothing_names_the_log_and_every_start_setting():
    from etl_lib.spark import _jvm_start_error

    err = _jvm_start_error(load_settings({}), "", Path("/data/logs/spark-driver.log"), 17)
    assert type(err) is KitError
    assert "without a reason in /data/logs/spark-driver.log" in str(err)
    assert "SPARK_DRIVER_MEMORY='2g'" in str(err) and "python -m etl_lib doctor" in str(err)


def test_only_what_this_start_wrote_is_read(tmp_path):
    from etl_lib.spark import _read_from

    log = tmp_path / "spark-driver.log"
    log.write_text("Error occurred during initialization of VM\nToo small maximum heap\n")  # an older start
    start = log.stat().st_size
    with open(log, "a") as f:
        f.write("this start\n")
    assert _read_from(log, start) == "this start\n"
    assert _read_from(tmp_path / "missing.log", 0) == ""


# ------------------------------------------------------------------ 5. a topic that is not there
class _Admin:
    """Stands in for kafka-python's admin client: only the message is under test (the live broker's half is in
    tests/integration/test_bad_settings_live.py)."""

    calls = 0

    def __init__(self, **kwargs):
        pass

    def list_topics(self):
        _Admin.calls += 1
        return ["taxi-trips", "weather-data", "accidents", "__consumer_offsets"]

    def close(self):
        pass


def test_a_missing_topic_is_named_by_its_setting_after_one_admin_call(monkeypatch):
    import kafka

    from etl_lib.main import _require_topics

    monkeypatch.setattr(kafka, "KafkaAdminClient", _Admin)
    _Admin.calls = 0
    with pytest.raises(ConfigError) as err:
        _require_topics(load_settings({"KAFKA_TOPIC_BIKE": "no-such-topic"}))
    assert str(err.value).splitlines()[0] == ("KAFKA_TOPIC_BIKE='no-such-topic': the broker at 127.0.0.1:9092 has "
                                              "no such topic.")
    assert "python -m data_gen --days 1" in str(err.value) and _Admin.calls == 1
    _require_topics(load_settings({"KAFKA_TOPIC_BIKE": "taxi-trips"}))  # every topic there: no error


# ------------------------------------------------------------------ 6. windows
def test_a_long_window_shorter_than_the_medium_one_is_refused_with_why():
    message = _refused({"WINDOW_DURATION_LONG": "1 minute"})
    assert message.startswith("WINDOW_DURATION_LONG='1 minute' is shorter than WINDOW_DURATION_MEDIUM='15 minutes'")
    assert "covers only the last slice of one medium window" in message
    assert "e.g. WINDOW_DURATION_LONG='1 hour'" in message
    assert "WINDOW_DURATION_LONG='2 hours'" in _refused({"WINDOW_DURATION_MEDIUM": "2 hours"})


def test_a_long_window_that_is_not_a_multiple_of_the_medium_one_is_refused_with_why():
    message = _refused({"WINDOW_DURATION_LONG": "20 minutes"})
    assert "'20 minutes' is not a whole multiple of WINDOW_DURATION_MEDIUM='15 minutes'" in message
    assert "counted in the one where it ends" in message and "e.g. WINDOW_DURATION_LONG='30 minutes'" in message
    assert "WINDOW_DURATION_LONG='63 minutes'" in _refused({"WINDOW_DURATION_MEDIUM": "7 minutes"})


@pytest.mark.parametrize("env", [
    {"WINDOW_DURATION_LONG": "15 minutes"},                                   # one medium window per group
    {"WINDOW_DURATION_LONG": "45 minutes"},
    {"WINDOW_DURATION_MEDIUM": "30 minutes"},                                 # lesson 01's parameter
    {"WINDOW_DURATION_MEDIUM": "90 seconds", "SLIDE_DURATION": "1 minute"},   # 3,600 s = 40 x 90 s
    {"WINDOW_DURATION_SHORT": "1 hour"},          # the short window stands alone (analytic 10)
    {"SLIDE_DURATION": "4 minutes"},              # Spark slides a 15-minute window by 4 as well
    {"WATERMARK_DELAY": "2 hours"},               # later results, same meaning
])
def test_window_relations_no_analytic_depends_on_are_left_free(env):
    load_settings(env)


def test_a_bad_window_stops_the_etl_at_once_without_a_traceback():
    out, seconds = _main({"WINDOW_DURATION_LONG": "1 minute"}, "--available-now")
    assert out.returncode == 2 and out.stderr.startswith("Configuration error:\nWINDOW_DURATION_LONG='1 minute'")
    assert "Traceback" not in out.stderr and seconds < 15
