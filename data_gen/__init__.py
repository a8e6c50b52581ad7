"""data_gen: a seeded Boston-2018 mobility world with a planted answer key, replayed into Kafka or files.

>>> from data_gen import GenParams, Simulation
>>> sim = Simulation(GenParams(days=1, scale=0.05))
>>> sum(1 for _ in sim.deliveries()) > 0
True

Command line: ``python -m data_gen --days 7 --seed 42 --to kafka`` (``--help`` for all options).
"""

from __future__ import annotations

import json
import math
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from .answer_key import build_answer_key, window_table
from .records import MALFORMED_KINDS, TOLERATED_KINDS, TOPICS, Delivery, GenParams, Simulation
from .sinks import FilesSink, JavaKafkaSink, KafkaSink, ReplayStopped, SinkError, pace, read_bluebikes_csv
from .world import EFFECTS, day_period, precip_category, temp_bin

__all__ = [
    "EFFECTS", "MALFORMED_KINDS", "TOLERATED_KINDS", "TOPICS", "Delivery", "FilesSink", "GenParams", "JavaKafkaSink",
    "KafkaSink",
    "ReplayStopped", "Simulation", "SinkError", "build_answer_key", "day_period", "generate", "pace", "precip_category",
    "read_bluebikes_csv", "temp_bin", "window_table", "write_answer_key",
]


def generate(
    params: GenParams,
    sink: Any,
    *,
    speedup: float | None = None,
    progress: Callable[[float, int], None] | None = None,
    windows: tuple[str, str] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Simulate ``params``, send every record to ``sink`` (KafkaSink or FilesSink), return the answer key.

    ``progress(fraction_of_period, records_sent)`` is called every few thousand records.
    ``windows``: the analytics' (``WINDOW_DURATION_MEDIUM``, ``WINDOW_DURATION_LONG``), for
    example ``("15 minutes", "1 hour")``; by default those of the current settings.
    ``stop``: when set (from another thread), the replay ends early; what was sent
    is flushed and :class:`ReplayStopped` says how many records that was (the
    answer key would describe records never sent, so none is returned).
    """
    sim = Simulation(params)
    total = sim.steps * 300.0
    n = 0
    try:
        for d in pace(sim.deliveries(), speedup, stop=stop):
            sink.send(d)
            n += 1
            if progress is not None and n % 5000 == 0:
                progress(min(1.0, d.at / total), n)
    except ReplayStopped:
        raise ReplayStopped(n) from None
    finally:
        sink.close()
    if progress is not None:
        progress(1.0, n)
    if windows is None:
        from etl_lib.config import get_settings

        s = get_settings()
        windows = (s.window_duration_medium, s.window_duration_long)
    from etl_lib.config import duration_seconds

    return build_answer_key(sim, timedelta(seconds=duration_seconds(windows[0])),
                            timedelta(seconds=duration_seconds(windows[1])))


def _finite(value: Any) -> Any:
    """NaN and infinities (a mean over nothing) as null: the file stays valid JSON for every parser."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_answer_key(path: Path | str, key: dict[str, Any]) -> Path:
    """Write the answer key as stable, readable JSON (sorted keys: same run, same bytes; strict JSON, no NaN)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(key), indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path
