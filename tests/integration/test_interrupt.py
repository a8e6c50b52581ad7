"""Interrupting a lesson cell that waits on a streaming query (issue 41, problem 5): the kernel shows one short
message, not py4j's log line and traceback, and the query the cell left running is stopped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from etl_lib.lab import setup, spark_session
lesson = setup("interrupt-test")
spark = spark_session(lesson.settings)
"""

WAIT = """
query = (spark.readStream.format("rate").option("rowsPerSecond", 5).load()
         .writeStream.format("noop").start())
query.awaitTermination()
"""


def outputs(client, code: str, interrupt_after: float | None = None, km=None) -> list[dict]:
    """Run ``code`` in the kernel and collect its outputs (interrupting it after ``interrupt_after`` seconds)."""
    msg_id = client.execute(code)
    began, interrupted, got = time.monotonic(), False, []
    while True:
        if interrupt_after is not None and not interrupted and time.monotonic() - began > interrupt_after:
            km.interrupt_kernel()
            interrupted = True
        try:
            msg = client.get_iopub_msg(timeout=1)
        except Exception:  # noqa: BLE001 - queue.Empty: nothing yet
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] in ("stream", "error", "execute_result", "display_data"):
            got.append({"type": msg["msg_type"], **msg["content"]})
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return got


def test_an_interrupted_streaming_cell_says_one_thing_and_stops_its_query(settings, tmp_path, monkeypatch):
    from jupyter_client import KernelManager

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT / "notebooks"))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        assert not [o for o in outputs(client, SETUP) if o["type"] == "error"]
        said = outputs(client, WAIT, interrupt_after=15, km=km)
        errors = [o for o in said if o["type"] == "error"]
        text = "".join(o.get("text", "") for o in said if o["type"] == "stream")
        assert len(errors) == 1 and errors[0]["ename"] == "KeyboardInterrupt", said
        shown = "\n".join(errors[0]["traceback"])
        assert "Interrupted. The 1 streaming query still running was stopped." in shown, shown
        assert len(errors[0]["traceback"]) <= 3 and "py4j" not in shown, shown
        assert "KeyboardInterrupt while sending command" not in text and "Traceback" not in text, text
        after = outputs(client, "print(len(spark.streams.active))")
        assert [o.get("text") for o in after] == ["0\n"], after
    finally:
        outputs(client, "spark.stop()")
        client.stop_channels()
        km.shutdown_kernel(now=True)
