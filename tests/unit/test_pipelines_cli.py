"""``python -m etl_lib pipelines`` in each mode on small settings, checked from its JSON metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _run(tmp_path, *args):
    env = dict(os.environ, DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, "-m", "etl_lib", "pipelines", "--out", str(tmp_path / "out"),
                           "--no-progress", *args], capture_output=True, text=True, env=env, timeout=120)


SMALL_FILES = ["--files", "25", "--bucket-size", "200KB", "--median-file-size", "30KB"]
SMALL_STREAM = ["--duration", "1.5", "--rate", "150", "--window", "0.5"]


def test_files_mode(tmp_path):
    proc = _run(tmp_path, "--pipeline", "files", *SMALL_FILES, "--workers", "3")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics) == {"files"}
    f = metrics["files"]
    assert f["files"] == 25 and f["buckets_ok"] == f["buckets"] >= f["l2_lower_bound"]
    assert "buckets_ok" in proc.stdout


def test_streaming_mode_with_failures(tmp_path):
    proc = _run(tmp_path, "--pipeline", "streaming", *SMALL_STREAM, "--failure-rate", "0.3",
                "--permanent-failure-rate", "0.1", "--invalid-fraction", "0.05")
    assert proc.returncode == 0, proc.stderr
    s = json.loads((tmp_path / "out" / "metrics.json").read_text())["streaming"]
    assert s["messages_in"] > 50
    assert s["messages_in"] == s["messages_processed"] + s["messages_dead_lettered"]


def test_all_mode_runs_both(tmp_path):
    proc = _run(tmp_path, "--pipeline", "all", *SMALL_FILES, *SMALL_STREAM, "--metrics-json",
                str(tmp_path / "m.json"))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert set(metrics) == {"files", "streaming"}


@pytest.mark.parametrize("args,needle", [
    (["--failure-rate", "1.5"], "fraction from 0 to 1"),
    (["--workers", "0"], "greater than 0"),
    (["--bucket-size", "ten"], "size in bytes"),
    (["--pipeline", "nightly"], "invalid choice"),
])
def test_bad_arguments_give_one_clear_message(tmp_path, args, needle):
    proc = _run(tmp_path, *args)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains_every_option(tmp_path):
    proc = _run(tmp_path, "--help")
    for option in ("--pipeline", "--duration", "--rate", "--files", "--bucket-size", "--workers", "--source"):
        assert option in proc.stdout
