"""The lab (floor 2), and the one face every lesson imports: ``from etl_lib.lab import setup, ...``.

What a student or an instructor touches, standing on the stages and on data_gen:

- ``notebook``  the one setup call of every lesson, and the helpers lessons share
- ``live``      progress records as tables, a live chart, the replay thread, the watch loop
- ``demo``      ``make demo``: the main job end to end
- ``doctor``    ``make doctor``: is this machine ready, and the fix for what is not

The face names each noun a lesson uses once, from its one home (the lab's modules, and the foundation's
Kafka helpers and practice cluster, data_gen's replay); it is resolved lazily by name, so that ``import etl_lib.lab.demo`` does
not import matplotlib or pyspark.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it (relative to etl_lib)
_FACE = {
    # every lesson's set-up (lab.notebook)
    "setup": "lab.notebook", "Lesson": "lab.notebook", "lesson_settings": "lab.notebook",
    "spark_session": "lab.notebook", "show": "lab.notebook", "send_json": "lab.notebook",
    "bike_trip": "lab.notebook", "START_OVER": "lab.once",
    # watching a query (lab.live), fed by data_gen's replay
    "LiveChart": "lab.live", "ProgressListener": "lab.live", "batch_of_offsets": "lab.live", "progress_records": "lab.live",
    "progress_table": "lab.live", "start_replay": "data_gen.replay", "stop_when_enough": "lab.live", "watch": "lab.live",
    "watermark_rule": "lab.live",
    # threads and the GIL (lab.gil); a consumer group's members (lab.groups)
    "count_with_threads": "lab.gil", "time_threads": "lab.gil", "cores_busy": "lab.gil", "GroupMember": "lab.groups", "settled": "lab.groups",
    # the machine (lab.doctor)
    "run_checks": "lab.doctor", "format_checks": "lab.doctor",
    # Kafka's topics, offsets and groups (core.kafka)
    "client_options": "core.kafka", "consumer_groups": "core.kafka", "end_offsets": "core.kafka",
    "ensure_topics": "core.kafka", "reset_topics": "core.kafka", "spark_kafka_options": "core.kafka",
    # one topic read by a consumer group or a share group, measured (core.queues)
    "run_group": "core.queues",
    # the practice cluster (core.cluster)
    "Cluster": "core.cluster",
    # the kit's one error family, for a cell that shows a refusal (core.errors)
    "KitError": "core.errors",
    # a student's own seed for the variants a lesson makes (core.variants)
    "mixed_seed": "core.variants",
}

__all__ = sorted(_FACE)

if TYPE_CHECKING:  # what an editor and a type checker see
    from ..core.cluster import Cluster  # noqa: F401
    from ..core.errors import KitError  # noqa: F401
    from ..core.queues import run_group  # noqa: F401
    from ..core.variants import mixed_seed  # noqa: F401
    from ..core.kafka import (client_options, consumer_groups, end_offsets, ensure_topics, reset_topics,  # noqa: F401
                              spark_kafka_options)
    from .doctor import format_checks, run_checks  # noqa: F401
    from .gil import cores_busy, count_with_threads, time_threads  # noqa: F401
    from .groups import GroupMember, settled  # noqa: F401
    from data_gen.replay import start_replay  # noqa: F401

    from .live import (LiveChart, ProgressListener, batch_of_offsets, progress_records, progress_table,  # noqa: F401
                       stop_when_enough, watch, watermark_rule)
    from .notebook import Lesson, bike_trip, lesson_settings, send_json, setup, show, spark_session  # noqa: F401
    from .once import START_OVER  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _FACE:
        home = _FACE[name]
        return getattr(importlib.import_module(home if home.startswith("data_gen") else f"etl_lib.{home}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
