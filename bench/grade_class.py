"""grade-class on a class of copies of the solutions: seconds per student with the sandbox and without it.

Builds a class of N students (default 10), each a copy of every solution notebook in exercises/solutions/, grades
it once in the sandbox and once with --no-sandbox (same --jobs), and prints per run: wall time, mean and spread
of the per-student seconds from the gradebook, the passes, and the sandbox's overhead as a ratio.  Every
exercise (Spark and Kafka ones included) runs, so a run takes minutes.
Run: .venv/bin/python bench/grade_class.py [--students 10] [--jobs 2] [--only sandbox|none]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def EXERCISE_COLUMNS(rows: list[dict]) -> set[str]:  # noqa: N802 - the gradebook's exercise columns
    from etl_lib.exercises import EXERCISES

    return set(EXERCISES) & set(rows[0])


def grade(subs: Path, out: Path, jobs: int, sandbox: bool) -> dict:
    env = {**os.environ, "DATA_DIR": str(out / "data")}
    cmd = [sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(subs), "--out", str(out), "--jobs",
           str(jobs), *([] if sandbox else ["--no-sandbox"])]
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=7200)
    wall = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"grade-class failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = [float(r["seconds"]) for r in rows]
    for r in rows:  # a student who did not pass everything: say why (a copy of the solutions should)
        if r["passed"] != r["of"]:
            failing = {k: v for k, v in r.items() if v not in ("pass",) and k in EXERCISE_COLUMNS(rows)}
            print(json.dumps({"student": r["student"], "outcome": r["outcome"], "not passed": failing,
                              "note": r["note"][:500]}), file=sys.stderr)
    return {"sandbox": "bubblewrap" if sandbox else "none", "students": len(rows), "jobs": jobs,
            "wall_seconds": round(wall, 1), "mean_seconds_per_student": round(statistics.mean(seconds), 1),
            "min": min(seconds), "max": max(seconds),
            "all_pass": all(r["passed"] == r["of"] for r in rows), "passed": [r["passed"] for r in rows][:1],
            "of": rows[0]["of"], "peak_mb_max": max(int(r["peak_memory_mb"]) for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=["sandbox", "none"], default=None)
    parser.add_argument("--keep", action="store_true", help="keep the class and gradebooks (the path is printed)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-grade-class-"))
    try:
        subs = base / "class"
        for k in range(args.students):
            folder = subs / f"student{k:02d}"
            folder.mkdir(parents=True)
            for nb in (ROOT / "exercises" / "solutions").glob("[0-9][0-9]_*.ipynb"):
                shutil.copy(nb, folder / nb.name)
        runs = [grade(subs, base / f"out-{mode}", args.jobs, mode == "sandbox")
                for mode in ("sandbox", "none") if args.only in (None, mode)]
        for run in runs:
            print(json.dumps(run))
        if len(runs) == 2:
            print(json.dumps({"sandbox_over_none_per_student": round(runs[0]["mean_seconds_per_student"]
                                                                      / runs[1]["mean_seconds_per_student"], 3),
                              "sandbox_over_none_wall": round(runs[0]["wall_seconds"] / runs[1]["wall_seconds"],
                                                              3)}))
    finally:
        if args.keep:
            print(f"kept: {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
