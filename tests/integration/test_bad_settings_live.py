"""The live halves of tests/unit/test_bad_settings.py: a real driver JVM that will not start, a real broker without
the topic, each at the command line (one message, no traceback, within 15 s) or through ``run_etl``."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from etl_lib.core.errors import ConfigError
from etl_lib.core.settings import project_root


def _main(settings, tmp_path, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m etl_lib run --available-now`` on the session broker, a fresh DATA_DIR, and ``env``."""
    import os

    full = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "DATA_DIR": str(tmp_path),
            "SPARK_UI_ENABLED": "false", "SPARK_MASTER": "local[2]", **env}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "etl_lib", "run", "--available-now"], env=full, cwd=project_root(),
                         capture_output=True, text=True, timeout=180)
    return out, time.monotonic() - started


def _java_refuses(*options: str) -> bool:
    """Whether this machine's java will not start with ``options`` (a failed start takes milliseconds)."""
    from etl_lib.core import jvm

    return subprocess.run([jvm.java_executable(), *options, "-version"], capture_output=True).returncode != 0


@pytest.mark.parametrize("name,value,words", [
    ("SPARK_DRIVER_MEMORY", "1k", "Java 17 said: Too small maximum heap"),
    ("SPARK_DRIVER_MEMORY", "100000g", "said: Could not reserve enough space for 104857600000KB object heap"),
    ("SPARK_DRIVER_JAVA_OPTIONS", "-Xmx1k", "Spark's launcher said: Not allowed to specify max heap(Xmx)"),
])
def test_a_driver_jvm_that_will_not_start_is_named_at_the_command_line(settings, tmp_path, name, value, words):
    if value == "100000g" and not _java_refuses("-Xmx100000g"):
        pytest.skip("this machine's Java reserves a 100000g heap: the JVM would start")
    if "17" in words:
        from etl_lib.core import jvm

        words = words.replace("17", str(jvm.java_version()))
    out, seconds = _main(settings, tmp_path, **{name: value})
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith("Configuration error:\nThe Spark driver JVM did not start."), out.stderr
    assert words in out.stderr and f"{name}={value!r}" in out.stderr
    assert "JAVA_GATEWAY_EXITED" not in out.stderr and "Traceback" not in out.stderr
    assert seconds < 15


def test_a_missing_topic_is_named_by_its_setting_before_spark_starts(settings, tmp_path):
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    out, seconds = _main(settings, tmp_path, KAFKA_TOPIC_BIKE=missing)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.splitlines()[:2] == [
        "Configuration error:",
        f"KAFKA_TOPIC_BIKE={missing!r}: the broker at {settings.kafka_bootstrap_servers} has no such topic."]
    assert "Traceback" not in out.stderr and seconds < 15
    assert not (tmp_path / "logs" / "spark-driver.log").exists()  # refused before any JVM


def test_run_etl_names_a_missing_topic_before_any_query_starts(spark, settings, tmp_path):
    from etl_lib.main import run_etl

    s = settings.replace(data_dir=tmp_path, kafka_topic_accidents=f"no-such-topic-{uuid.uuid4().hex[:8]}")
    active = len(spark.streams.active)
    with pytest.raises(ConfigError, match=r"^KAFKA_TOPIC_ACCIDENTS='no-such-topic-\w+': the broker at "):
        run_etl(spark, s, available_now=True, echo=lambda *_: None)
    assert len(spark.streams.active) == active
