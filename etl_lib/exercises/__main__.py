"""``python -m etl_lib.exercises grade [FOLDER]`` (``make grade``): grade every exercise notebook of a folder
(default ``exercises/``) and print a score table; ``list`` prints the exercises and the concepts they practise;
``prove`` checks that the hidden cases catch the wrong solutions in ``exercises/mutants/``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.cli import settings_or_exit
from . import EXERCISES, Context, grade_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib.exercises", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("grade", help="grade a folder of exercise notebooks")
    grade.add_argument("folder", nargs="?", default="exercises", type=Path)
    sub.add_parser("list", help="list the exercises")
    sub.add_parser("prove", help="check that every wrong solution in exercises/mutants/ fails on its requirement")
    args = parser.parse_args(argv)
    if args.command == "list":
        for ex in EXERCISES.values():
            print(f"{ex.lesson}  {ex.name:<22} {ex.title}  [{', '.join(ex.concepts)}; {ex.needs}]")
        return 0
    if args.command == "prove":
        return _prove()
    if not args.folder.is_dir():
        print(f"Error: {args.folder} is not a folder of exercise notebooks (try exercises/).", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    context = Context(settings.replace(data_dir=settings.data_dir))
    t0 = time.monotonic()
    try:
        results = grade_folder(args.folder, context)
    finally:
        if context.spark_session is not None:
            from ..spark import stop_spark

            stop_spark(context.spark_session)
    print(f"graded in {time.monotonic() - t0:.0f} s")
    return 0 if results else 1


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
