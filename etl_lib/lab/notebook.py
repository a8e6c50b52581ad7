"""The one setup call at the top of every notebook, and the few helpers the notebooks share.

``setup()`` finds the Kafka broker at ``KAFKA_BOOTSTRAP_SERVERS`` or starts the
local one (left running for the next notebook; stop it with ``make
broker-stop``), seeds every random generator, keeps library log lines out of
cell outputs and sets display options, so that a notebook's outputs are the
same on every run.  Nothing here prints a path, a port or a time of day.
"""

from __future__ import annotations

import logging
import random
import shutil
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.broker import LocalKafka, default_data_dir
from ..core.cluster import Cluster, cluster_folder
from ..core.kafka import broker_answers, client_options, reset_topics
from ..core.kinds import KINDS
from ..core.sharing import refuse_reset, register
from ..core.settings import Settings, get_settings
from ..spark import create_spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["setup", "Lesson", "lesson_settings", "spark_session", "show", "send_json", "bike_trip"]


@dataclass(frozen=True)
class Lesson:
    """What ``setup`` returns: the notebook's own settings and whether Kafka is available."""

    settings: Settings
    kafka: bool


def _quiet() -> None:
    for name in ("kafka", "py4j", "pyspark", "matplotlib", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pyspark")


def _display() -> None:
    import matplotlib
    import pandas as pd

    pd.set_option("display.precision", 3)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.width", 120)
    matplotlib.rcParams.update({"figure.figsize": (7, 3.6), "figure.dpi": 90, "axes.spines.top": False,
                                "axes.spines.right": False})


def lesson_settings(lesson: str, settings: Settings | None = None, topics: bool = True) -> Settings:
    """Settings of one notebook: outputs under ``DATA_DIR/notebooks/<lesson>`` and, with ``topics``,
    its own topic names (``<lesson>.bike-trips``...), so notebooks never see each other's data."""
    s = settings or get_settings()
    changes: dict[str, Any] = {"data_dir": s.data_dir / "notebooks" / lesson, "spark_ui_enabled": False}
    if topics:
        changes.update({k.topic_attribute: f"{lesson}.{s.kafka_topics[k.id]}" for k in KINDS})
    return s.replace(**changes)


def setup(lesson: str, seed: int = 42, kafka: bool = True, fresh: bool = True) -> Lesson:
    """Prepare a notebook: broker, seeds, quiet logs, display options, a clean output folder, empty topics, short
    messages with the fix for the errors a student causes (:mod:`etl_lib.lab.cell_errors`), and a guard on the
    cells that must run once (:mod:`etl_lib.lab.once`).  Run again, it starts the lesson over.

    ``lesson`` names the notebook (``"05"``); ``kafka=False`` for lessons that do not need a broker.
    """
    _quiet()
    _display()
    from . import cell_errors, once

    cell_errors.install(get_settings().kafka_bootstrap_servers)  # a student's error gets one message with the fix
    once.install()  # a "# runs once" cell run again says so instead of sending its records twice
    once.forget()  # this setup starts the lesson over
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    s = lesson_settings(lesson, topics=kafka)
    if kafka:
        # This kernel uses the lesson's topics from now on; another kernel on the same lesson is refused here,
        # before its outputs or topics are touched (a second setup of this lesson in this kernel replaces the claim).
        register(s, s.kafka_topics.values(), key=f"lesson {lesson}", outputs=True)
        refuse_reset(s.kafka_bootstrap_servers, s.kafka_topics.values(), data_dir=s.data_dir)
    if fresh:
        cell_errors.stop_streams()  # an earlier run's queries would go on writing into the folder emptied below
        Cluster.load(cluster_folder(s)).down()  # a practice cluster an earlier run of this lesson left running
        shutil.rmtree(s.data_dir, ignore_errors=True)
    s.data_dir.mkdir(parents=True, exist_ok=True)
    if kafka:
        base = get_settings()
        if not broker_answers(base):
            # Detached: the broker outlives this kernel and serves the next notebook too.
            LocalKafka(base.kafka_bootstrap_servers, default_data_dir(base)).start(detach=True)
        reset_topics(s, s.kafka_topics.values())
    print(f"Lesson {lesson} ready: seed {seed}" + (", Kafka broker answering, topics emptied" if kafka else ""))
    return Lesson(s, kafka)


def spark_session(settings: Settings) -> "SparkSession":
    """The lesson's Spark session (JVM output goes to a log file, never into a cell)."""
    return create_spark_session(settings, app_name="etl-kit notebook")


def send_json(bootstrap: str, topic: str, records: list[dict[str, Any]], settings: Settings | None = None,
              keys: list[str] | None = None) -> None:
    """Send hand-made records to ``topic`` as JSON, acknowledged by the broker before this returns.

    For lessons that place a few records at chosen event times; bulk data comes from data_gen.
    ``settings``: whose Kafka security options the producer uses (default: the process's).
    ``keys``: one key per record (the partition follows the key); none by default.
    """
    if keys is not None and len(keys) != len(records):
        raise ValueError(f"send_json: {len(keys)} keys for {len(records)} records")
    import json

    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(settings or get_settings()))
    try:
        for i, record in enumerate(records):
            producer.send(topic, key=None if keys is None else keys[i].encode(), value=json.dumps(record).encode())
        producer.flush()
    finally:
        producer.close()


def bike_trip(n: int, ts: str) -> dict[str, Any]:
    """A valid bike trip ``b<n>`` that starts and ends at ``ts`` ("2018-04-02 08:01:00")."""
    return {"trip_id": f"b{n}", "trip_duration": 300, "start_time": ts, "stop_time": ts,
            "start_station_id": 3, "end_station_id": 4}


def show(df: Any, n: int = 10, decimals: int = 3) -> Any:
    """A small, rounded pandas view of a Spark or pandas DataFrame, for stable cell outputs."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        df = df.limit(n).toPandas()
    else:
        df = df.head(n)
    return df.round(decimals).reset_index(drop=True)
