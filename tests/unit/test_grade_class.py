"""Grading a whole class (``python -m etl_lib exercises grade-class``) and per-student variants of the cases.

The synthetic class uses the JVM-free exercises (lessons 01 and 03), so no broker
or Spark starts: each student still runs in a process of their own, and the bad
submissions (an endless loop, a sys.exit, a crashed interpreter, a notebook that
is not JSON, a memory hog) each get their own row while the others are graded.
They run in grade-class's sandbox where it works (tests/unit/test_sandbox.py tests
the sandbox itself), else with --no-sandbox, unless REQUIRE_SANDBOX is set.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl_lib.core.variants import mixed_seed, student_seed
from etl_lib.exercises import EXERCISES
from etl_lib.exercises.__main__ import main as exercises_main
from etl_lib.exercises.grader import Context, _run, load_solutions

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "exercises" / "solutions"


def _with_first_exercise_cell(src: Path, dst: Path, code: str) -> None:
    """Copy notebook ``src`` to ``dst`` with ``code`` put before the first exercise cell's own code."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    cell = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    cell.source = code + "\n" + cell.source
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)


def sandbox_flags() -> list[str]:
    """grade-class's options for a test class: none where its sandbox runs here, else ``--no-sandbox`` (a failure
    instead where REQUIRE_SANDBOX is set, as in CI)."""
    import os

    from etl_lib.core.settings import load_settings
    from etl_lib.exercises.sandbox import SandboxUnavailable, find_sandbox

    try:
        find_sandbox(load_settings(), memory_mb=1000)
        return []
    except SandboxUnavailable as err:
        if os.environ.get("REQUIRE_SANDBOX"):
            pytest.fail(f"REQUIRE_SANDBOX is set but grade-class's sandbox cannot run here: {err}")
        return ["--no-sandbox"]


def _copy(src: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, folder / src.name)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Seven students (two good or partial, five bad in five ways) graded once; (csv rows, out folder, stdout)."""
    subs = tmp_path_factory.mktemp("class")
    cfg, bfd = SOLUTIONS / "01_configuration.ipynb", SOLUTIONS / "03_nightly_file_pipeline.ipynb"
    _copy(cfg, subs / "ana")
    _copy(bfd, subs / "ana")
    _copy(ROOT / "exercises" / "01_configuration.ipynb", subs / "boris")  # the blank, not written yet
    _copy(bfd, subs / "boris")
    _copy(cfg, subs / "cica")
    _with_first_exercise_cell(bfd, subs / "cica" / bfd.name, "while True:\n    pass")
    _with_first_exercise_cell(cfg, subs / "dejan" / cfg.name, "import sys\nsys.exit(3)")
    _copy(bfd, subs / "dejan")
    _copy(cfg, subs / "ema")
    _with_first_exercise_cell(bfd, subs / "ema" / bfd.name, "import ctypes\nctypes.string_at(0)")
    (subs / "filip.ipynb").write_text("print('my answers')\n")
    _with_first_exercise_cell(bfd, subs / "goran" / bfd.name, "hog = [b'x' * 10**8 for _ in range(100)]")
    (subs / "notes.txt").write_text("not a submission")
    out = tmp_path_factory.mktemp("gradebook")
    result = subprocess.run(
        [sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(subs), "--out", str(out),
         "--timeout", "20", "--memory-mb", "1200", *sandbox_flags()],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
        env={**__import__("os").environ, "DATA_DIR": str(out / "data"), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return rows, out, result.stdout


@pytest.mark.timeout(300)
def test_every_student_gets_a_row_and_the_bad_ones_say_what_happened(graded_class):
    rows, out, stdout = graded_class
    assert list(rows) == ["ana", "boris", "cica", "dejan", "ema", "filip", "goran"]
    assert "skipped notes.txt" in stdout and "Kafka" not in stdout  # JVM-free exercises: no broker started
    outcome = {s: r["outcome"] for s, r in rows.items()}
    assert outcome == {"ana": "graded", "boris": "graded", "cica": "timeout", "dejan": "graded", "ema": "crashed",
                       "filip": "graded", "goran": "memory"}
    status = {s: (r["parse_duration"], r["bfd_buckets"]) for s, r in rows.items()}
    assert status == {
        "ana": ("pass", "pass"),
        "boris": ("blank", "pass"),
        "cica": ("pass", "timeout"),  # its 01 notebook was graded before the loop in 03
        "dejan": ("error", "pass"),  # sys.exit in a cell fails that exercise only
        "ema": ("pass", "crashed"),
        "filip": ("missing", "missing"),
        "goran": ("missing", "memory"),
    }
    assert "endless loop" in rows["cica"]["note"] and "03_nightly_file_pipeline.ipynb" in rows["cica"]["note"]
    assert "SystemExit: 3" in rows["dejan"]["note"]
    assert "SIGSEGV" in rows["ema"]["note"] and "Segmentation fault" in rows["ema"]["note"]
    assert "<exercise 03_nightly_file_pipeline.ipynb cell 1>\", line 2" in rows["ema"]["note"]
    assert "not a readable notebook" in rows["filip"]["note"] and "NotJSONError" in rows["filip"]["note"]
    # Over the limit by the poll of /proc, or at it where the kernel holds the limit (the sandbox's cgroup).
    assert "the 1,200 MB limit" in rows["goran"]["note"] and int(rows["goran"]["peak_memory_mb"]) >= 1200
    assert float(rows["cica"]["seconds"]) >= 20 and float(rows["ana"]["seconds"]) < 20
    assert rows["ana"]["passed"] == "3" and rows["ana"]["of"] == "3"
    assert rows["ana"]["concept:bfd"] == "1/1" and rows["boris"]["concept:env-config"] == "0/1"


@pytest.mark.timeout(300)
def test_the_gradebook_html_logs_and_work_folders(graded_class):
    rows, out, _ = graded_class
    page = (out / "gradebook.html").read_text(encoding="utf-8")
    assert all(f">{s}</a>" in page for s in rows) and "Per concept" in page and "pass rate" in page
    assert "SystemExit: 3" in page and "do not define it" in page  # dejan's note, and his cell's hover text
    # Each student's own output, as make grade prints it (score table and hints), is kept.
    assert "score: 3 of 3 exercises pass" in (out / "logs" / "ana.txt").read_text()
    # Work folders stay only where grading went wrong; the reports hold the results as they came.
    assert sorted(p.name for p in (out / "work").iterdir()) == ["cica", "ema", "goran"]
    events = [json.loads(line) for line in (out / "reports" / "cica.jsonl").read_text().splitlines()]
    assert events[-1] == {"event": "load", "notebook": "03_nightly_file_pipeline.ipynb"}


def test_grade_class_refuses_what_is_not_a_class(tmp_path, capsys):
    assert exercises_main(["grade-class", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert exercises_main(["grade-class", str(tmp_path)]) == 2
    assert "holds no submission" in capsys.readouterr().err
    (tmp_path / "Ana").mkdir()
    (tmp_path / "ana.ipynb").write_text("{}")
    assert exercises_main(["grade-class", str(tmp_path)]) == 2
    assert "would share" in capsys.readouterr().err


# ----------------------------------------------------------------------------- per-student variants
def _solutions() -> dict:
    found = {}
    for nb in SOLUTIONS.glob("*.ipynb"):
        found.update(load_solutions(nb)[0])
    return found


def _inputs(name: str, student: str) -> list[str]:
    """The arguments every case of ``name`` (a function exercise) hands the solution, for ``student``."""
    solution, seen = _solutions()[name], []

    def recording(*args):
        seen.append(repr(args))
        return solution(*args)

    assert _run(EXERCISES[name], recording, Context(student=student)).status == "pass"
    return seen


@pytest.mark.parametrize("name", ["bfd_buckets", "pearson_from_sums"])
def test_each_student_gets_inputs_of_their_own(name):
    assert _inputs(name, "") == _inputs(name, "")  # make grade's cases are fixed
    ana, boris = _inputs(name, "ana"), _inputs(name, "boris")
    assert ana == _inputs(name, "ana") and ana != boris
    assert len(set(ana) & set(boris)) < len(ana)  # the hand-written cases are shared, the random ones are not


@pytest.mark.parametrize("name", ["minibatch_collector", "bfd_buckets", "pearson_from_sums"])
def test_the_solution_passes_every_students_variant(name):
    solution = _solutions()[name]
    for student in ("", "ana", "boris", "Ana Petrović"):
        result = _run(EXERCISES[name], solution, Context(student=student))
        assert result.status == "pass", (student, result.failure)


def test_answers_copied_from_another_student_do_not_pass():
    """A "solution" that replays ana's answers (learned from her cases) passes as ana and fails as boris."""
    solution = load_solutions(SOLUTIONS / "03_nightly_file_pipeline.ipynb")[0]["bfd_buckets"]
    learned: dict = {}

    def learn(sizes, capacity):
        try:
            learned[(tuple(sizes), capacity)] = answer = solution(sizes, capacity)
        except ValueError as err:  # ana's printout shows the error too
            learned[(tuple(sizes), capacity)] = err
            raise
        return answer

    assert _run(EXERCISES["bfd_buckets"], learn, Context(student="ana")).status == "pass"

    def copied(sizes, capacity):
        answer = learned.get((tuple(sizes), capacity))
        if answer is None:
            return [[i] for i in range(len(sizes))]  # a guess where ana's printout has no answer
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert _run(EXERCISES["bfd_buckets"], copied, Context(student="ana")).status == "pass"
    boris = _run(EXERCISES["bfd_buckets"], copied, Context(student="boris"))
    assert boris.status == "fail" and "random sizes" in boris.failure


def test_a_students_world_is_seeded_by_their_id(tmp_path):
    """python -m data_gen --student ID simulates the same world as --seed <the seed of ID>, another for each id."""
    def world(*args: str) -> bytes:
        out = tmp_path / "-".join(args)
        subprocess.run([sys.executable, "-m", "data_gen", "--to", "files", "--out", str(out), "--days", "1",
                        "--scale", "0.05", "--no-progress", "--answer-key", str(out / "key.json"), *args],
                       check=True, capture_output=True, timeout=120, cwd=ROOT,
                       env={**__import__("os").environ, "DATA_DIR": str(tmp_path / "data")})
        return (out / "bike-trips.jsonl").read_bytes()

    ana = world("--student", "ana")
    assert ana == world("--seed", str(student_seed("ana")))
    assert ana != world("--student", "boris")
    assert student_seed("Ana ") == student_seed("ana") and mixed_seed(3, "ana") != mixed_seed(3, "boris")
    both = subprocess.run([sys.executable, "-m", "data_gen", "--student", "ana", "--seed", "1"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert both.returncode == 2 and "either --seed or --student" in both.stderr
