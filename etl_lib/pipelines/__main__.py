"""``python -m etl_lib pipelines``: run seed 000's streaming and/or file pipeline from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

from ..core.cli import fraction as _fraction, positive as _positive, settings_or_exit
from ..core.kinds import KIND_IDS
from ..core.values import parse_size
from ._common import Metrics
from .files import init_file_metrics, run_file_pipeline
from .streaming import (
    Shutdown,
    init_stream_metrics,
    inject_faults,
    kafka_message_source,
    message_source,
    run_message_pipeline,
)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser(settings: Any) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m etl_lib pipelines",
        description="Run the thread/queue pipelines of seed 000. Defaults come from etl_lib.config "
                    "(MINIBATCH_WINDOW_SECONDS, PIPELINE_WORKERS, PIPELINE_QUEUE_SIZE, BUCKET_CAPACITY_BYTES).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--pipeline", choices=["files", "streaming", "all"], default="files",
                   help="which pipeline to run; 'all' runs streaming in a thread beside the file pipeline")
    g = p.add_argument_group("streaming pipeline")
    g.add_argument("--source", choices=["simulated", "kafka"], default="simulated",
                   help="where messages come from: a seeded simulation, or a kit topic on KAFKA_BOOTSTRAP_SERVERS")
    g.add_argument("--topic", default="bike", choices=KIND_IDS,
                   help="with --source kafka: which of the kit's topics to read")
    g.add_argument("--value-field", default=None,
                   help="with --source kafka: JSON field to aggregate (default: count records)")
    g.add_argument("--duration", type=_positive(float), default=300.0, help="seconds the source runs")
    g.add_argument("--rate", type=_positive(float), default=50.0, help="simulated messages per second")
    g.add_argument("--window", type=_positive(float), default=settings.minibatch_window_seconds,
                   help="minibatch window in seconds")
    g.add_argument("--max-batch-size", type=_positive(int), default=None,
                   help="split a window's batch after this many messages")
    g.add_argument("--invalid-fraction", type=_fraction, default=0.0,
                   help="fraction of simulated messages that are malformed (dead-lettered)")
    g.add_argument("--failure-rate", type=_fraction, default=0.0,
                   help="chance that one processing attempt fails transiently (retried)")
    g.add_argument("--permanent-failure-rate", type=_fraction, default=0.0,
                   help="chance that a batch fails permanently (dead-lettered)")
    f = p.add_argument_group("file pipeline")
    f.add_argument("--files", type=_positive(int), default=100, help="fake files to create")
    f.add_argument("--bucket-size", type=_size, default=settings.bucket_capacity_bytes,
                   help="bucket capacity in bytes (units accepted: 10MiB, 500KB)")
    f.add_argument("--median-file-size", type=_size, default=1024 * 1024, help="median fake file size")
    c = p.add_argument_group("both")
    c.add_argument("--workers", type=_positive(int), default=settings.pipeline_workers, help="worker threads")
    c.add_argument("--queue-size", type=_positive(int), default=settings.pipeline_queue_size,
                   help="bounded queue size (backpressure)")
    c.add_argument("--seed", type=int, default=42, help="seed for every random choice")
    c.add_argument("--out", type=Path, default=settings.data_dir / "pipelines",
                   help="output folder (aggregates, dead letters, archives, metrics)")
    c.add_argument("--metrics-json", type=Path, default=None, help="metrics file (default: OUT/metrics.json)")
    c.add_argument("--no-progress", action="store_true", help="do not print the live progress line")
    return p


class _Progress:
    """A live status line on stderr (rewritten in place on a terminal), from its own joined thread."""

    def __init__(self, stream_metrics: Metrics | None, file_metrics: Metrics | None) -> None:
        self.stream, self.files = stream_metrics, file_metrics
        self.done = threading.Event()
        self.tty = sys.stderr.isatty()
        self.thread = threading.Thread(target=self._run, name="progress")

    def line(self) -> str:
        parts = []
        if self.stream is not None:
            s = self.stream
            parts.append(f"streaming in={s['messages_in']:.0f} processed={s['messages_processed']:.0f} "
                         f"dead={s['messages_dead_lettered']:.0f} batches ok={s['batches_ok']:.0f} "
                         f"failed={s['batches_failed']:.0f} retries={s['retries']:.0f}")
        if self.files is not None:
            f = self.files
            parts.append(f"files buckets ok={f['buckets_ok']:.0f}/{f['buckets']:.0f} failed={f['buckets_failed']:.0f}")
        return " | ".join(parts)

    def _run(self) -> None:
        interval = 0.5 if self.tty else 5.0
        while not self.done.wait(interval):
            print(("\r" + self.line()) if self.tty else self.line(), end="" if self.tty else "\n",
                  file=sys.stderr, flush=True)
        if self.tty:
            print("\r" + self.line(), file=sys.stderr, flush=True)

    def __enter__(self) -> "_Progress":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def _table(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, metrics in results.items():
        lines.append(f"== {name} pipeline")
        for key in sorted(metrics):
            value = metrics[key]
            if isinstance(value, list):
                continue
            if isinstance(value, float):
                value = f"{value:.4g}"
            lines.append(f"  {key:<30} {value}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    settings = settings_or_exit()
    args = build_parser(settings).parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    run_streaming = args.pipeline in ("streaming", "all")
    run_files = args.pipeline in ("files", "all")
    stream_metrics = init_stream_metrics() if run_streaming else None
    file_metrics = init_file_metrics() if run_files else None
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    with Shutdown() as shutdown:
        def streaming() -> None:
            try:
                if args.source == "kafka":
                    from ..core.kafka import broker_answers, no_broker_message

                    if not broker_answers(settings):
                        raise ConnectionError(no_broker_message(settings.kafka_bootstrap_servers,
                                                                fix="use --source simulated"))
                    source = kafka_message_source(settings.kafka_topics[args.topic], settings.kafka_bootstrap_servers,
                                                  duration_sec=args.duration, value_field=args.value_field,
                                                  stop_event=shutdown.requested, settings=settings)
                else:
                    source = message_source(args.duration, args.rate, seed=args.seed, stop_event=shutdown.requested,
                                            invalid_fraction=args.invalid_fraction)
                wrap = None
                if args.failure_rate or args.permanent_failure_rate:
                    wrap = lambda p: inject_faults(p, args.failure_rate, args.permanent_failure_rate, seed=args.seed)
                results["streaming"] = run_message_pipeline(
                    source, out / "streaming", window_sec=args.window, workers=args.workers,
                    queue_size=args.queue_size, max_batch_size=args.max_batch_size, wrap_process=wrap,
                    metrics=stream_metrics, shutdown=shutdown)
            except BaseException as err:  # reported by the main thread
                errors.append(err)

        with _Progress(stream_metrics, file_metrics) if not args.no_progress else contextlib.nullcontext():
            thread = None
            if run_streaming:
                thread = threading.Thread(target=streaming, name="streaming-pipeline")
                thread.start()
            if run_files:
                try:
                    results["files"] = run_file_pipeline(
                        args.files, out / "files", capacity=args.bucket_size, workers=args.workers,
                        queue_size=args.queue_size, seed=args.seed, median_bytes=args.median_file_size,
                        metrics=file_metrics, stop=shutdown.requested)
                except BaseException as err:
                    errors.append(err)
            if thread is not None:
                thread.join()

    for err in errors:
        print(f"Error: {err}", file=sys.stderr)
    if results:
        print(_table(results))
        metrics_path = args.metrics_json or out / "metrics.json"
        metrics_path.parent.mkdir(parents=True, exist_ok=True)
        metrics_path.write_text(json.dumps(results, indent=2, sort_keys=True, default=str))
        print(f"metrics written to {metrics_path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
