"""etl_lib: the teaching kit's pipeline stages, one module per stage.

- ``etl_lib.config``      settings from environment variables
- ``etl_lib.kafka_local`` a real local Kafka broker without Docker
- ``etl_lib.spark``       the Spark session and the Kafka source

Public names are re-exported here lazily, so ``import etl_lib`` stays cheap
(pyspark is imported only when a Spark function is first used).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ConfigError": "config",
    "Settings": "config",
    "load_settings": "config",
    "get_settings": "config",
    "BrokerError": "kafka_local",
    "LocalKafka": "kafka_local",
    "ensure_broker": "kafka_local",
    "create_topics": "kafka_local",
    "create_spark_session": "spark",
    "read_kafka_stream": "spark",
    "read_kafka_batch": "spark",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
