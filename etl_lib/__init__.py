"""etl_lib: the teaching kit's pipeline stages, one module per stage, on three floors.

Floor 0, the foundation (``etl_lib.core``): settings, errors, the command-line
wrapper, Java, the Kafka admin helpers, the local broker and the practice
cluster, and the analytics registry.  Floor 1 stands on it: ``data_gen`` (a
sibling package) and the stages below.  Floor 2, the lab (``etl_lib.lab``):
the notebooks' helpers, the demo, the doctor, live charts and the exercises.
A module imports only its own floor and the ones below (a test checks it).

- ``etl_lib.config``      the seed's settings module (``etl_lib.core.settings``)
- ``etl_lib.spark``       the Spark session and the Kafka source
- ``etl_lib.parsing``     explicit schemas, reasons, quarantine
- ``etl_lib.writers``     raw Parquet, quarantine and analytics sinks
- ``etl_lib.analytics``   the windowed analytics (the seed's nine, short and sliding usage)
- ``etl_lib.summaries``   their outputs as graph-ready tables (pandas)
- ``etl_lib.main``        the orchestrator (``python -m etl_lib run``)
- ``etl_lib.report``      the report: summaries, answer key check, plots, HTML
- ``etl_lib.pipelines``   seed 000's thread/queue pipelines
- ``etl_lib.lab``         the face every lesson imports (setup, live views, Kafka helpers)

``python -m etl_lib <command>`` runs every command of the kit (``etl_lib.__main__``).

Public names are re-exported here lazily, so ``import etl_lib`` stays cheap
(pyspark is imported only when a Spark function is first used).
"""

from __future__ import annotations

import importlib
from typing import Any

from .core.catalog import ANALYTICS

__version__ = "0.1.0"

_EXPORTS = {
    "KitError": "core.errors",
    "ConfigError": "config",
    "Settings": "config",
    "load_settings": "config",
    "get_settings": "config",
    "BrokerError": "core.errors",
    "LocalKafka": "core.broker",
    "ensure_broker": "core.broker",
    "create_topics": "core.kafka",
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
    # the seed's nine analytics and the kit's two more, as the registry lists them
    **{a.build: "analytics" for a in ANALYTICS},
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
