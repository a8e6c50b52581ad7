"""etl_lib: the teaching kit's pipeline stages, one module per stage.

- ``etl_lib.config``      settings from environment variables
- ``etl_lib.kafka_local`` a real local Kafka broker without Docker
- ``etl_lib.spark``       the Spark session and the Kafka source
- ``etl_lib.parsing``     explicit schemas, reasons, quarantine
- ``etl_lib.writers``     raw Parquet, quarantine and analytics sinks
- ``etl_lib.analytics``   the windowed analytics (the seed's nine, short and sliding usage) and their readers
- ``etl_lib.main``        the orchestrator (``python -m etl_lib.main``)
- ``etl_lib.pipelines``   seed 000's thread/queue pipelines
- ``etl_lib.notebook``    the notebooks' setup call

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
    "stop_spark": "spark",
    # Spark ETL (seed 003): the names a reader of the seed looks for
    "parse_bike_stream": "parsing",
    "parse_taxi_stream": "parsing",
    "parse_weather_stream": "parsing",
    "parse_accident_stream": "parsing",
    "quarantine_records": "parsing",
    "write_parquet_stream": "writers",
    "write_quarantine_stream": "writers",
    "write_analytics_stream": "writers",
    "create_combined_transport_weather_window": "analytics",
    "calculate_weather_transport_correlation": "analytics",
    "calculate_weather_safety_risk": "analytics",
    "calculate_surge_weather_correlation": "analytics",
    "generate_transport_usage_summary": "analytics",
    "calculate_pearson_correlations": "analytics",
    "calculate_binned_weather_aggregations": "analytics",
    "calculate_precipitation_impact_analysis": "analytics",
    "calculate_temporal_segmented_correlations": "analytics",
    "calculate_multi_variable_correlation_summary": "analytics",
    "calculate_realtime_transport_usage": "analytics",
    "calculate_sliding_transport_usage": "analytics",
    "run_etl": "main",
    "start_etl": "main",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
