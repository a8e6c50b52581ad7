"""data_gen into the local broker against the same records only serialized and batched, in one run.

Every side generates the same simulated week (same seed) and hands every record
to a sink: one only appends the bytes to in-memory batches (serialize-only);
JavaKafkaSink frames them to Kafka's Java producer in a second process (data_gen's
fast path, what `python -m data_gen` and the demo use); KafkaSink sends them
with kafka-python in-process (what the lessons show).  Both Kafka sinks use
acks=all and idempotence.  Each side runs on a fresh broker.  Prints records/s of
each and their ratio to serialize-only.
Run: .venv/bin/python bench/data_gen_kafka.py [--days 7 --scale 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from data_gen import GenParams, JavaKafkaSink, KafkaSink, generate
from data_gen.records import TOPICS
from etl_lib.config import load_settings
from etl_lib.core.broker import LocalKafka
from etl_lib.core.kafka import create_topics, free_port


class BatchOnlySink:
    """Serialize-and-batch without sending: records go into 512 KiB batches per topic, then are dropped."""

    def __init__(self, batch_bytes: int = 512 * 1024) -> None:
        self.batch_bytes = batch_bytes
        self.batches = {t: [] for t in TOPICS}
        self.sizes = {t: 0 for t in TOPICS}
        self.sent = 0

    def send(self, d) -> None:
        self.batches[d.topic].append((d.key, d.value))
        self.sizes[d.topic] += len(d.value) + len(d.key)
        self.sent += 1
        if self.sizes[d.topic] >= self.batch_bytes:
            self.batches[d.topic] = []
            self.sizes[d.topic] = 0

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    params = GenParams(days=args.days, scale=args.scale)
    t0 = time.perf_counter()
    key = generate(params, BatchOnlySink())
    batch_only = time.perf_counter() - t0
    n = sum(c["produced"] for c in key["counts"].values())
    seconds = {}
    for name, sink_class in (("java_producer", JavaKafkaSink), ("kafka_python", KafkaSink)):
        with tempfile.TemporaryDirectory() as tmp:
            broker = LocalKafka(f"127.0.0.1:{free_port()}", Path(tmp) / "broker", heap="1g")
            broker.start()
            try:
                settings = load_settings({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "DATA_DIR": tmp})
                topics = settings.kafka_topics
                create_topics(settings, topics.values(), 3)
                t0 = time.perf_counter()
                generate(params, sink_class(broker.bootstrap_servers, topics))
                seconds[name] = time.perf_counter() - t0
            finally:
                broker.stop()
    report = {"records": n, "serialize_and_batch_only_rec_per_s": round(n / batch_only)}
    for name, secs in seconds.items():
        report[f"into_kafka_{name}_rec_per_s"] = round(n / secs)
        report[f"into_kafka_{name}_over_batch_only_ratio"] = round(batch_only / secs, 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
