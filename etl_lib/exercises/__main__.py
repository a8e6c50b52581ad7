"""``python -m etl_lib exercises grade [FOLDER]`` (``make grade``): grade every exercise notebook of a folder
(default ``exercises/``) and print a score table; ``grade-class SUBMISSIONS/`` grades a whole class, each student
in a sandbox of their own (running ``observe`` there and judging here), into a gradebook; ``list`` prints the exercises and the concepts they practise;
``prove`` checks that the hidden cases catch the wrong solutions in ``exercises/mutants/``; ``traces`` prints
trace questions for practice on paper, answered by Spark (see :mod:`etl_lib.traces`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.cli import settings_or_exit
from . import EXERCISES, Context, grade_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib exercises", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("grade", help="grade a folder of exercise notebooks")
    grade.add_argument("folder", nargs="?", default="exercises", type=Path,
                       help="a folder of NN_*.ipynb exercise notebooks, or one notebook")
    grade.add_argument("--student", default="", metavar="ID",
                       help="grade against this student's own variant of the hidden cases")
    grade.add_argument("--report", type=Path, default=None, metavar="FILE",
                       help="also append each result to FILE as a JSON line, as it is known")
    observe = sub.add_parser("observe", help="grade-class's half in the student's sandbox: run a folder's exercise "
                                             "cells and every case's observing half, and write what the code did "
                                             "to a channel (a file descriptor), deciding nothing")
    observe.add_argument("folder", type=Path, help="a folder of NN_*.ipynb exercise notebooks, or one notebook")
    observe.add_argument("--channel", type=int, required=True, metavar="FD",
                         help="the file descriptor (a pipe grade-class reads) the events go to, one JSON line each")
    observe.add_argument("--student", default="", metavar="ID",
                         help="observe this student's own variant of the hidden cases")
    klass = sub.add_parser("grade-class", help="grade every student's submission into a gradebook (CSV and HTML)")
    klass.add_argument("submissions", type=Path, help="a folder holding one folder or one notebook per student")
    klass.add_argument("--out", type=Path, default=None,
                       help="where the gradebook goes (default: DATA_DIR/gradebook/<folder name>)")
    klass.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS",
                       help="wall time one student's grading may take before it is stopped")
    klass.add_argument("--memory-mb", type=int, default=6144, metavar="MB",
                       help="memory one student's grading may use (its Python and its Spark JVM together)")
    klass.add_argument("--jobs", type=int, default=1, help="students graded at the same time")
    klass.add_argument("--same-cases", action="store_true",
                       help="give every student the cases make grade shows (default: each their own variant)")
    klass.add_argument("--no-sandbox", action="store_true",
                       help="grade without bubblewrap where it cannot run: each student's code then runs as you "
                            "and sees what you see; every gradebook row is marked unsandboxed")
    klass.add_argument("--max-processes", type=int, default=None, metavar="N",
                       help="processes and threads one student's grading may run at once, where the kernel's "
                            "cgroups allow a limit (default 2048; a Spark JVM runs a few hundred threads)")
    traces = sub.add_parser("traces", help="print trace questions for practice on paper (predict each batch's "
                                           "rows, watermark and state), the answers, computed by Spark, on a "
                                           "page of their own")
    traces.add_argument("--student", default="", metavar="ID", help="your own traces (default: the kit's set)")
    traces.add_argument("--count", type=int, default=10, help="how many traces (default 10)")
    traces.add_argument("--family", action="append", default=None, metavar="NAME",
                        help="only this family (repeat for more); default every family in turn")
    traces.add_argument("--answers", type=Path, default=None, metavar="FILE",
                        help="write the answers to FILE instead of after a page break")
    sub.add_parser("list", help="list the exercises")
    sub.add_parser("prove", help="check that every wrong solution in exercises/mutants/ fails on its requirement")
    args = parser.parse_args(argv)
    if args.command == "list":
        for ex in EXERCISES.values():
            print(f"{ex.lesson}  {ex.name:<22} {ex.title}  [{', '.join(ex.concepts)}; {ex.needs}]")
        return 0
    if args.command == "prove":
        return _prove()
    if args.command == "traces":
        return _traces(args)
    if args.command == "grade-class":
        from .classroom import grade_class_main

        return grade_class_main(args)
    settings = settings_or_exit()
    if args.command == "observe":
        return _observe(args, settings)
    if not args.folder.exists():
        print(f"Error: {args.folder} does not exist (a folder of exercise notebooks, or one notebook).",
              file=sys.stderr)
        return 2
    context = Context(settings, student=args.student)
    report = _report_writer(args.report) if args.report else None
    t0 = time.monotonic()
    try:
        results = grade_folder(args.folder, context, on_event=report)
    finally:
        if context.spark_session is not None:
            from ..spark import stop_spark

            stop_spark(context.spark_session)
    print(f"graded in {time.monotonic() - t0:.0f} s")
    if report is not None:
        report({"event": "done", "seconds": round(time.monotonic() - t0, 1)})
    return 0 if results else 1


def _observe(args: argparse.Namespace, settings) -> int:
    """``observe``: the student's half of grade-class (see :func:`~etl_lib.exercises.grader.observe_folder`)."""
    import json
    import os

    from .grader import MAX_OBSERVATION, observe_folder

    channel = os.fdopen(args.channel, "w", encoding="utf-8")
    context = Context(settings, student=args.student)

    def send(event: dict) -> None:
        line = json.dumps(event, ensure_ascii=False, allow_nan=True)
        if len(line) > MAX_OBSERVATION:
            line = json.dumps({**event, "observation": {"failed": f"the observation is {len(line):,} characters "
                                                                  "of JSON, more than the grader reads"}})
        channel.write(line + "\n")
        channel.flush()
        if event["event"] == "observed-all":
            print(f"observed {event['exercise']} ({event['notebook']})", flush=True)
        elif event["event"] == "problem":
            print(f"✗ {event['text']}", flush=True)

    t0 = time.monotonic()
    try:
        observe_folder(args.folder, context, send)
    finally:
        if context.spark_session is not None:
            from ..spark import stop_spark

            stop_spark(context.spark_session)
    send({"event": "done", "seconds": round(time.monotonic() - t0, 1)})
    channel.close()
    return 0


def _report_writer(path: Path):
    """A function that appends one event as a JSON line to ``path`` and flushes it to disk at once."""
    import json
    import os

    def write(event: dict) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    return write


def _traces(args: argparse.Namespace) -> int:
    """``traces``: a practice set, answered by running each trace's query on Spark."""
    from ..traces import FAMILIES, answer, generate_set, paper

    unknown = [f for f in args.family or [] if f not in FAMILIES]
    if unknown or not 1 <= args.count <= 100:
        print(f"Error: {'unknown family ' + ', '.join(unknown) if unknown else '--count must be 1 to 100'}; "
              f"the families are: {', '.join(FAMILIES)}.", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    from ..spark import create_spark_session, stop_spark

    spark = create_spark_session(settings.replace(spark_ui_enabled=False), app_name="etl-kit traces")
    try:
        t0 = time.monotonic()
        answers = [answer(spark, t) for t in generate_set(args.count, args.student, args.family)]
        seconds = time.monotonic() - t0
    finally:
        stop_spark(spark)
    questions, solutions = paper(answers, args.student)
    print(questions)
    if args.answers is not None:
        args.answers.write_text(solutions + "\n", encoding="utf-8")
        print(f"(answers in {args.answers}; Spark answered {len(answers)} traces in {seconds:.0f} s)")
    else:
        print("\f" + solutions)
        print(f"(Spark answered {len(answers)} traces in {seconds:.0f} s)", file=sys.stderr)
    return 0


def _prove() -> int:
    from .mutation import mutant_problems, mutants_of, requirement_problems

    context = Context(settings_or_exit())
    problems: list[str] = []
    try:
        for name, ex in EXERCISES.items():
            if not ex.requirements:
                print(f"· {name}: no requirements listed yet")
                continue
            found = requirement_problems(name) + mutant_problems(name, context)
            problems += found
            print(f"{'✗' if found else '✓'} {name}: {len(ex.requirements)} requirements, "
                  f"{len(mutants_of(name))} wrong solutions" + "".join(f"\n    {p}" for p in found))
    finally:
        if context.spark_session is not None:
            from ..spark import stop_spark

            stop_spark(context.spark_session)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
