"""Start-up costs of the kit's two JVMs, measured in one run.

Prints: broker start-to-ready seconds, Spark session start plus first Kafka read
seconds, the broker's resident memory, and their ratio (how many broker starts
one Spark start costs).  Run: .venv/bin/python bench/foundation.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from etl_lib.config import load_settings
from etl_lib.core.broker import LocalKafka
from etl_lib.core.kafka import create_topics, free_port
from etl_lib.spark import create_spark_session, read_kafka_batch, stop_spark


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = LocalKafka(f"127.0.0.1:{free_port()}", Path(tmp) / "broker")
        t0 = time.monotonic()
        broker.start()
        broker_ready = time.monotonic() - t0
        try:
            settings = load_settings({"DATA_DIR": tmp, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                                      "SPARK_UI_ENABLED": "false", "SPARK_MASTER": "local[2]"})
            create_topics(settings, ["bench"], 1)
            from kafka import KafkaProducer

            p = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
            for i in range(1000):
                p.send("bench", str(i).encode())
            p.flush()
            p.close()
            t1 = time.monotonic()
            spark = create_spark_session(settings)
            n = read_kafka_batch(spark, "bench", settings).count()
            spark_first_read = time.monotonic() - t1
            stop_spark(spark)
            rss = broker.resident_memory_mb()
        finally:
            broker.stop()
    result = {
        "broker_start_to_ready_s": round(broker_ready, 2),
        "spark_session_plus_first_kafka_read_s": round(spark_first_read, 2),
        "records_read": n,
        "broker_rss_mib": round(rss or 0, 1),
        "spark_over_broker_ratio": round(spark_first_read / broker_ready, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
