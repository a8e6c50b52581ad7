"""``make demo``: the kit's main job end to end on one machine.

1. find or start the local Kafka broker, and register this run as one of its users;
2. empty the four topics and the kit's output folders (a fresh, repeatable run), unless another live kit run
   uses those topics or this DATA_DIR: then stop before touching anything, naming that run;
3. simulate a week of Boston 2018 with data_gen into Kafka, writing the answer key;
4. run the Spark ETL in available-now mode: raw Parquet, quarantine, silver windows, eleven analytics;
5. write the plots and the HTML report, and check the analytics against the answer key;
6. stop Spark, and the broker if this run started it and no other kit run still uses it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from data_gen import GenParams, JavaKafkaSink, generate, write_answer_key

from ..core.broker import ensure_broker
from ..core.cli import fail, run
from ..core.errors import BrokerError, ConfigError, KitError
from ..core.kafka import may_reset_topics, reset_topics
from ..core.sharing import other_runs, refuse_reset, register
from ..core.settings import Location, Settings, get_settings
from ..main import run_etl
from ..report import answer_key_summary, check_answer_key, summaries, write_report
from ..spark import create_spark_session, stop_spark


class UnsafeDeleteError(ConfigError):
    """A folder the demo would empty lies outside DATA_DIR; the message names it and the fix."""


def _outputs_to_clean(settings: Settings) -> tuple[Path, ...]:
    """The demo's output and checkpoint folders, refusing (before anything is touched) any outside ``DATA_DIR``.

    The ``*_PATH`` settings can point anywhere; a typo such as ``OUTPUT_BASE_PATH=/``
    must never make the demo delete a folder it does not own.
    """
    root = settings.data_dir.resolve()
    remote = [f"{name}={value}" for name, value in settings.as_env().items()
              if isinstance(getattr(settings, name.lower()), Location)]
    if remote:
        raise UnsafeDeleteError(
            f"The demo runs on this machine and empties its output folders first; {', '.join(remote)} is not a "
            "folder here. Unset it for the demo, or run the ETL on your cluster with "
            "`python -m etl_lib run --available-now`.")
    paths = (settings.output_base_path, settings.checkpoint_base_path, settings.quarantine_path,
             settings.silver_path, settings.analytics_output_path, settings.analytics_checkpoint_path, settings.data_dir / "report")
    outside = [p for p in paths if not Path(p).resolve().is_relative_to(root) or Path(p).resolve() == root]
    if outside:
        raise UnsafeDeleteError(
            f"The demo empties its output and checkpoint folders before it runs, and refuses to delete "
            f"{', '.join(map(str, outside))}: not inside DATA_DIR={settings.data_dir}. Point the *_PATH settings "
            "at folders under DATA_DIR (or unset them), or delete those folders yourself and run the ETL with "
            "`python -m etl_lib run --available-now`.")
    return tuple(Path(p) for p in paths)


def _clean_outputs(settings: Settings) -> None:
    # Checkpoints hold Kafka offsets of the topics just emptied: they must go with them.
    for path in _outputs_to_clean(settings):
        shutil.rmtree(path, ignore_errors=True)


def run_demo(days: int = 7, scale: float = 0.5, seed: int = 42, reset_topics_asked: bool = False) -> int:
    settings = get_settings()
    _outputs_to_clean(settings)
    t_start = time.monotonic()
    with ensure_broker(settings) as broker:
        origin = "started for this run" if broker.owned else "already running, reused"
        sharers = len(other_runs(settings.kafka_bootstrap_servers))
        if sharers:
            origin += f"; {sharers} other kit run{'s' if sharers > 1 else ''} use{'' if sharers > 1 else 's'} it too"
        print(f"[1/5] Kafka broker at {settings.kafka_bootstrap_servers} ({origin})")
        # Registered first (the demo writes its outputs under DATA_DIR), then checked: of two demos started at
        # once, neither empties the other's topics or outputs.
        register(settings, settings.kafka_topics.values(), key="demo", outputs=True)
        refuse_reset(settings.kafka_bootstrap_servers, settings.kafka_topics.values(), data_dir=settings.data_dir)
        if not (reset_topics_asked or may_reset_topics(settings, broker)):
            raise BrokerError(
                f"The demo starts from empty topics, and {settings.kafka_bootstrap_servers} is a cluster the kit did "
                f"not start: it will not delete {', '.join(settings.kafka_topics.values())} there unless asked. "
                "Run `python -m etl_lib demo --reset-topics` to delete and recreate them, or set KAFKA_TOPIC_* "
                "to topics of the demo's own.")
        reset_topics(settings, settings.kafka_topics.values())
        _clean_outputs(settings)
        print(f"[2/5] emptied topics {', '.join(settings.kafka_topics.values())} and outputs under {settings.data_dir}")

        t0 = time.monotonic()
        params = GenParams(days=days, scale=scale, seed=seed)
        key = generate(params, JavaKafkaSink(settings.kafka_bootstrap_servers, settings.kafka_topics,
                                             settings=settings))
        key_path = write_answer_key(settings.data_dir / "answer_key.json", key)
        produced = sum(c["produced"] for c in key["counts"].values())
        print(f"[3/5] data_gen: {days} simulated days from {params.start:%Y-%m-%d}, {produced:,} records into Kafka "
              f"in {time.monotonic() - t0:.1f} s; answer key {key_path}")

        t0 = time.monotonic()
        spark = create_spark_session(settings)
        try:
            print(f"[4/5] Spark {spark.version}: ETL in available-now mode")
            run_etl(spark, settings, available_now=True, echo=lambda line: print("      " + line))
        finally:
            stop_spark(spark)
        print(f"      done in {time.monotonic() - t0:.1f} s")

        report = write_report(settings)
        check = check_answer_key(summaries(settings), json.loads(key_path.read_text()))
        print(f"[5/5] report: {report}")
        print(f"      answer key: {answer_key_summary(check).split(', ', 1)[0]}")
        for row in check.itertuples():
            if not row.measurable:
                print(f"        --  {row.relationship:<52} not measurable: {row.reason}")
                continue
            mark = "ok " if row.within_tolerance else "OFF"
            measured = "n/a" if row.measured is None else f"{row.measured:+.3f}"
            print(f"        {mark} {row.relationship:<52} expected {row.expected:+.3f}  measured {measured}")
    print(f"Demo finished in {time.monotonic() - t_start:.0f} s. Open {report} in a browser.")
    return 0


@run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib demo", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--days", type=int, default=7, help="simulated days")
    parser.add_argument("--scale", type=float, default=0.5, help="data_gen rate scale")
    parser.add_argument("--seed", type=int, default=42, help="data_gen seed")
    parser.add_argument("--reset-topics", action="store_true",
                        help="delete and recreate the topics even on a broker the kit did not start")
    args = parser.parse_args(argv)
    try:
        return run_demo(args.days, args.scale, args.seed, args.reset_topics)
    except KitError:
        raise  # printed by @run with its exit code
    except RuntimeError as err:  # a JVM or Py4J failure while Spark ran: one line, not a traceback
        return fail(KitError(str(err)))


if __name__ == "__main__":
    sys.exit(main())
