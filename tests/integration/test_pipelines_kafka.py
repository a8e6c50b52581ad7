"""The streaming pipeline reading a real topic with kafka-python: same exact accounting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from etl_lib.core.kafka import create_topics
from etl_lib.pipelines import JsonLinesSink, kafka_message_source, run_message_pipeline


def _produce(bootstrap, topic, good, bad):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(good):
        p.send(topic, key=str(i % 3).encode(), value=json.dumps({"trip_duration": 100 + i}).encode())
    for i in range(bad):
        p.send(topic, value=b"not json {")
    p.flush()
    p.close()


def test_kafka_source_exact_accounting(settings, tmp_path):
    topic = "pipeline-kafka"
    create_topics(settings, [topic], partitions=2)
    _produce(settings.kafka_bootstrap_servers, topic, 120, 5)
    source = kafka_message_source(topic, settings.kafka_bootstrap_servers, duration_sec=60,
                                  value_field="trip_duration", max_messages=125)
    result = run_message_pipeline(source, tmp_path, window_sec=0.5, workers=3)
    assert result["messages_in"] == 125
    assert result["messages_processed"] == 120 and result["messages_dead_lettered"] == 5
    out = JsonLinesSink(tmp_path / "aggregates.jsonl").read()
    assert sum(r["sum"] for r in out) == sum(100 + i for i in range(120))
    dead = JsonLinesSink(tmp_path / "dead_letters.jsonl").read()
    assert all("not a JSON object" in d["reason"] for d in dead)


def test_cli_kafka_source(settings, tmp_path):
    _produce(settings.kafka_bootstrap_servers, settings.kafka_topic_weather, 40, 0)
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers, DATA_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "etl_lib", "pipelines", "--pipeline", "streaming", "--source", "kafka",
                           "--topic", "weather", "--duration", "4", "--window", "1", "--no-progress",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    s = json.loads((tmp_path / "out" / "metrics.json").read_text())["streaming"]
    assert s["messages_in"] >= 40
    assert s["messages_in"] == s["messages_processed"] + s["messages_dead_lettered"]


def test_cli_kafka_source_unreachable(tmp_path):
    from etl_lib.core.kafka import free_port

    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}", DATA_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "etl_lib", "pipelines", "--pipeline", "streaming", "--source", "kafka",
                           "--duration", "2", "--no-progress", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert "No Kafka broker answers" in proc.stderr and "Traceback" not in proc.stderr
