"""``python -m data_gen``: simulate a period of Boston 2018 mobility into Kafka or JSON-lines files."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from etl_lib.core.cli import fraction as _fraction, positive as _positive, settings_or_exit
from etl_lib.core.errors import KitError
from etl_lib.core.variants import student_seed

from . import FilesSink, GenParams, JavaKafkaSink, KafkaSink, SinkError, generate, read_bluebikes_csv, write_answer_key
from .records import TOPICS


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2018-04-02") from None


def build_parser(settings) -> argparse.ArgumentParser:
    d = GenParams()
    p = argparse.ArgumentParser(
        prog="python -m data_gen",
        description="Simulate Boston 2018 bike trips, taxi rides, weather and accidents with planted weather "
                    "effects, send them to Kafka or JSON-lines files, and write the answer key.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--days", type=_positive(int), default=d.days, help="simulated days")
    p.add_argument("--seed", type=int, default=None,
                   help=f"seed: the same seed and options give the same bytes (default {d.seed})")
    p.add_argument("--student", default=None, metavar="ID",
                   help="a student's own world: the seed derived from their id, as the grader's --student derives it")
    p.add_argument("--start", type=_date, default=d.start, help="first simulated day (Boston local time)")
    p.add_argument("--scale", type=_positive(float), default=d.scale,
                   help="multiplies every event rate (1.0 is close to the real city)")
    p.add_argument("--to", choices=["kafka", "files"], default="kafka", help="where the records go")
    p.add_argument("--out", type=Path, default=settings.data_dir / "generated",
                   help="with --to files: folder of <topic>.jsonl files")
    p.add_argument("--bootstrap-servers", default=settings.kafka_bootstrap_servers,
                   help="with --to kafka: the broker (default: KAFKA_BOOTSTRAP_SERVERS)")
    p.add_argument("--producer", choices=["java", "python"], default="java",
                   help="with --to kafka: Kafka's Java producer in a second process (fast; built by `make jars`) or "
                        "kafka-python in this one (what the lessons show); same records, same partitions")
    p.add_argument("--speedup", type=_positive(float), default=None,
                   help="simulated seconds per wall second (e.g. 600); default: as fast as possible")
    p.add_argument("--late-fraction", type=_fraction, default=d.late_fraction,
                   help="fraction of records delivered late (out of order)")
    p.add_argument("--late-mean-minutes", type=_positive(float), default=d.late_mean_minutes,
                   help="mean lateness of a late record, in minutes (exponential)")
    p.add_argument("--duplicate-fraction", type=_fraction, default=d.duplicate_fraction,
                   help="fraction of records sent twice (exact duplicates)")
    p.add_argument("--malformed-fraction", type=_fraction, default=d.malformed_fraction,
                   help="fraction of records damaged (7 kinds, each counted in the answer key)")
    p.add_argument("--watermark-minutes", type=_positive(float), default=d.watermark_minutes,
                   help="records later than this are counted as late in the answer key")
    p.add_argument("--answer-key", type=Path, default=None,
                   help="where to write the answer key (default: DATA_DIR/answer_key.json)")
    p.add_argument("--replay-csv", type=Path, default=None,
                   help="instead of simulating: replay a real Bluebikes trip CSV (original header) into the bike topic")
    p.add_argument("--allow-rejects", action="store_true",
                   help="with --replay-csv: send the good rows even when some were rejected (they are kept in "
                        "the rejects file either way)")
    p.add_argument("--rejects", type=Path, default=None,
                   help="with --replay-csv: where rejected rows go (default: DATA_DIR/replay_rejects/<csv>.jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


class ProgressBar:
    """``[######----]  60%  84,000 records  31,500 rec/s`` on stderr, redrawn in place on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last = -1.0

    def __call__(self, fraction: float, n: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if fraction < 1.0 and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        rate = n / max(now - self.t0, 1e-9)
        bar = "#" * int(fraction * 30)
        line = f"[{bar:<30}] {fraction:4.0%} {n:>10,} records {rate:>9,.0f} rec/s"
        print(("\r" + line) if self.tty else line, end="" if self.tty and fraction < 1.0 else "\n",
              file=sys.stderr, flush=True)


def _replay(args, sink, topic: str, settings) -> int:
    """Replay a Bluebikes CSV: every rejected row to the rejects file; nothing is sent when a row was rejected,
    unless ``--allow-rejects`` (a rerun after fixing the file then sends each trip once)."""
    try:
        deliveries, report = read_bluebikes_csv(args.replay_csv)
    except BaseException:
        sink.close()
        raise
    rejects = None
    if report.rejected:
        rejects = report.write_rejects(args.rejects or settings.data_dir / "replay_rejects"
                                       / f"{args.replay_csv.stem}.jsonl")
    if report.rejected and not args.allow_rejects:
        sink.close()
        print(f"{args.replay_csv}: {report.summary()}", file=sys.stderr)
        for bad in report.rejected[:5]:
            print(f"  line {bad['line']}: {bad['reason']}", file=sys.stderr)
        print(f"Nothing was sent. Every rejected row, with its line and reason, is in {rejects}. Fix those rows, or "
              f"pass --allow-rejects to send the {len(deliveries):,} good ones.", file=sys.stderr)
        return 1
    for d in deliveries:
        sink.send(d)
    sink.close()
    print(f"Replayed {args.replay_csv} into '{topic}': {report.summary()}")
    if rejects is not None:
        print(f"Rejected rows (line, raw text, reason): {rejects}")
    return 0


def main(argv: list[str] | None = None) -> int:
    settings = settings_or_exit()
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    topics = settings.kafka_topics
    if args.student is not None and args.seed is not None:
        parser.error("give either --seed or --student (a student's world is the seed derived from their id)")
    seed = student_seed(args.student) if args.student is not None else (GenParams().seed if args.seed is None
                                                                         else args.seed)
    params = GenParams(days=args.days, seed=seed, start=args.start, scale=args.scale,
                       late_fraction=args.late_fraction, late_mean_minutes=args.late_mean_minutes,
                       duplicate_fraction=args.duplicate_fraction, malformed_fraction=args.malformed_fraction,
                       watermark_minutes=args.watermark_minutes)
    try:
        params.validate()
    except ValueError as err:
        parser.error(str(err))

    try:
        if args.to == "kafka":
            from etl_lib.core.kafka import broker_answers, create_topics, no_broker_message

            settings = settings.replace(kafka_bootstrap_servers=args.bootstrap_servers)
            if not broker_answers(settings):
                raise SinkError(no_broker_message(settings.kafka_bootstrap_servers, fix="pass --bootstrap-servers"))
            create_topics(settings, topics.values())
            if args.producer == "java":
                sink = JavaKafkaSink(args.bootstrap_servers, topics, flush_each=args.speedup is not None,
                                     settings=settings)
            else:
                sink = KafkaSink(args.bootstrap_servers, topics, settings=settings)
        else:
            sink = FilesSink(args.out, topics)
        t0 = time.monotonic()
        if args.replay_csv:
            return _replay(args, sink, topics["bike"], settings)
        key = generate(params, sink, speedup=args.speedup, progress=ProgressBar(not args.no_progress))
        seconds = time.monotonic() - t0
    except (KitError, ValueError, OSError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1

    key_path = write_answer_key(args.answer_key or settings.data_dir / "answer_key.json", key)
    where = args.bootstrap_servers if args.to == "kafka" else str(args.out)
    total = sum(c["produced"] for c in key["counts"].values())
    print(f"Sent {total:,} records to {args.to} ({where}) in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} rec/s)")
    print(f"{'topic':<14}{'records':>10}{'events':>10}{'dupes':>8}{'late':>8}{'quarantine':>11}")
    for t in TOPICS:
        c = key["counts"][t]
        print(f"{topics[t]:<14}{c['produced']:>10,}{c['events']:>10,}{c['duplicates']:>8,}{c['late']:>8,}"
              f"{c['quarantined']:>11,}")
    print(f"Answer key: {key_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
