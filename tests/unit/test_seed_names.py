"""docs/seed_names.md maps every public name of the seeds to the kit: each row must still be true."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from etl_lib import config

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "seed_names.md"

# The names a reader of the seeds looks for (the issue that asked for the map lists them).
SEED_FUNCTIONS = {
    "message_source", "minibatch_collector", "retry_with_backoff", "worker", "process_batch", "run_message_pipeline",
    "create_fake_files", "bfd_buckets", "process_one_bucket", "bucket_worker", "init_file_metrics",
    "run_file_pipeline", "create_spark_session", "read_kafka_stream", "parse_bike_stream", "parse_taxi_stream",
    "parse_weather_stream", "parse_accident_stream", "write_parquet_stream", "write_analytics_stream",
    "create_combined_transport_weather_window", "calculate_weather_transport_correlation",
    "calculate_weather_safety_risk", "calculate_surge_weather_correlation", "generate_transport_usage_summary",
    "calculate_pearson_correlations", "calculate_binned_weather_aggregations",
    "calculate_precipitation_impact_analysis", "calculate_temporal_segmented_correlations",
    "calculate_multi_variable_correlation_summary",
}
SEED_SETTINGS = {
    "KAFKA_BOOTSTRAP_SERVERS", "SPARK_APP_NAME", "BATCH_INTERVAL", "OUTPUT_BASE_PATH", "CHECKPOINT_BASE_PATH",
    "ANALYTICS_OUTPUT_PATH", "ANALYTICS_CHECKPOINT_PATH", "WINDOW_DURATION_SHORT", "WINDOW_DURATION_MEDIUM",
    "WINDOW_DURATION_LONG", "SLIDE_DURATION", "ENABLE_WEATHER_TRANSPORT_CORRELATION", "ENABLE_WEATHER_SAFETY_ANALYSIS",
    "ENABLE_SURGE_WEATHER_CORRELATION", "ENABLE_TRANSPORT_USAGE_SUMMARY", "ENABLE_PEARSON_CORRELATIONS",
    "ENABLE_BINNED_AGGREGATIONS", "ENABLE_PRECIPITATION_ANALYSIS", "ENABLE_TEMPORAL_CORRELATIONS",
    "ENABLE_MULTI_VARIABLE_SUMMARY",
}


def _rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in MAP.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows.append(tuple(cells))
    return rows


ROWS = _rows()


def _name(cell: str) -> str:
    return re.search(r"`([^`]+)`", cell).group(1)


def test_every_seed_name_has_a_row():
    names = {_name(r[0]) for r in ROWS}
    assert SEED_FUNCTIONS | SEED_SETTINGS | {"KAFKA_TOPICS"} <= names, (SEED_FUNCTIONS | SEED_SETTINGS) - names


@pytest.mark.parametrize("row", ROWS, ids=lambda r: _name(r[0]))
def test_the_row_is_true(row):
    seed, kit, notebook, docs = row
    target = _name(kit)
    if kit.startswith("setting "):
        assert target in config._BY_ENV, f"{target} is not a setting any more"
        assert target == _name(seed), "a seed setting keeps its name"
    else:
        module, _, attr = target.rpartition(".")
        if module.endswith(".Settings"):
            obj = getattr(importlib.import_module(module.rpartition(".")[0]), "Settings")
        else:
            obj = importlib.import_module(module)
        assert hasattr(obj, attr), f"{target} no longer exists"
        if seed.startswith("`") and " " not in _name(seed) and _name(seed).islower():
            assert attr == _name(seed), "a seed function keeps its name"
    assert (ROOT / "notebooks" / f"{notebook}.ipynb").exists(), notebook
    assert (ROOT / "docs" / docs).exists(), docs
