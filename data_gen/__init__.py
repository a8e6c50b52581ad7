"""data_gen: a seeded Boston-2018 mobility world with a planted answer key, replayed into Kafka or files.

>>> from data_gen import GenParams, Simulation
>>> sim = Simulation(GenParams(days=1, scale=0.05))
>>> sum(1 for _ in sim.deliveries()) > 0
True

Command line: ``python -m data_gen --days 7 --seed 42 --to kafka`` (``--help`` for all options).
"""

from __future__ import annotations

from .answer_key import build_answer_key, window_table
from .records import MALFORMED_KINDS, TOLERATED_KINDS, TOPICS, Delivery, GenParams, Simulation
from .sinks import FilesSink, JavaKafkaSink, KafkaSink, ReplayStopped, SinkError, pace, read_bluebikes_csv
from .replay import Replay, generate, start_replay, write_answer_key
from .world import EFFECTS, day_period, precip_category, temp_bin

__all__ = [
    "EFFECTS", "MALFORMED_KINDS", "TOLERATED_KINDS", "TOPICS", "Delivery", "FilesSink", "GenParams", "JavaKafkaSink",
    "KafkaSink",
    "ReplayStopped", "Simulation", "SinkError", "build_answer_key", "day_period", "generate", "pace", "precip_category",
    "read_bluebikes_csv", "temp_bin", "window_table", "write_answer_key", "Replay", "start_replay",
]
