"""Exercises, grader and question bank without a JVM: the bank's format and coverage of the 35 concepts, the
Python exercises' solutions pass and blanks are reported as not written, a wrong answer gets the smallest failing
case and a hint but never the solution, and the exercise notebooks match their one source."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from etl_lib.exercises import EXERCISES, check
from etl_lib.exercises.grader import Context, grade_folder, is_blank, load_solutions
from etl_lib.exercises.quiz import load_bank, load_concepts, score_answers

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import exercises as builder  # noqa: E402

PYTHON_ONLY = [name for name, ex in EXERCISES.items() if ex.needs == "python"]


def test_every_concept_has_with_three_questions_and_an_exercise_or_prediction():
    concepts, bank = load_concepts(), load_bank()
    assert len(concepts) == 35
    per_concept = Counter(q.concept for q in bank)
    assert {c: n for c, n in per_concept.items() if n < 3} == {}, "three questions per concept"
    assert set(per_concept) == set(concepts)
    practised = {q.concept for q in bank if q.kind == "predict"} | {c for ex in EXERCISES.values()
                                                                    for c in ex.concepts}
    assert set(concepts) - practised == set(), "an exercise or a predict-the-output question per concept"


def test_the_bank_is_big_enough_and_asks_for_predictions():
    bank = load_bank()
    assert len(bank) >= 100 and len({q.id for q in bank}) == len(bank)
    assert sum(q.kind in ("predict", "cross") for q in bank) * 3 >= len(bank), "a third predict or cross-lesson"
    lessons = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert {q.lesson for q in bank} <= lessons


def test_at_least_twelve_exercises_across_the_three_stages_each_with_a_notebook():
    assert len(EXERCISES) >= 12
    assert {ex.needs for ex in EXERCISES.values()} == {"python", "kafka", "spark"}
    concepts = load_concepts()
    for ex in EXERCISES.values():
        assert set(ex.concepts) <= set(concepts), ex.name
        assert list((ROOT / "exercises").glob(f"{ex.lesson}_*.ipynb")), f"no exercise notebook for {ex.name}"


@pytest.mark.parametrize("broken,words", [
    ("## q001 · 02 · producer-consumer · recall\nWhat?\n\n- [ ] a\n- [ ] b\n\n> why\n", r"exactly one marked \[x\]"),
    ("## q001 · 02 · no-such-concept · recall\nWhat?\n\n- [x] a\n- [ ] b\n\n> why\n", "unknown concept"),
    ("## q001 · 02 · gil · guess\nWhat?\n\n- [x] a\n- [ ] b\n\n> why\n", "kind 'guess'"),
    ("## q1 · lesson two\n", "expected '## qNNN"),
    ("## q001 · 02 · gil · recall\nWhat?\n\n- [x] a\n- [ ] b\n", "explanation"),
])
def test_a_malformed_question_names_its_line(tmp_path, broken, words):
    path = tmp_path / "questions.md"
    path.write_text("# bank\n\n" + broken)
    with pytest.raises(ValueError, match=words) as err:
        load_bank(path)
    assert "questions.md:3" in str(err.value)


def test_scoring_is_per_concept_and_points_to_the_lesson_and_page():
    bank = load_bank()
    q = next(q for q in bank if q.concept == "watermarks")
    wrong = next(letter for letter in "abcd" if letter != q.answer)
    report = score_answers({q.id: wrong, "q001": "b", "nope": "a"}, bank)
    assert report.by_concept["watermarks"] == (1, 0) and report.unknown == ["nope"]
    assert "watermarks: lesson 06 and docs/spark_etl.md" in report.table()
    assert f"the answer is {q.answer}" in report.table()
    assert score_answers({q.id: q.answer.upper() + ")"}, bank).correct == 1, "'B)' is read as b"
    # With no answers the report says what to do and shows no key: the exam review is stored that way.
    empty = score_answers({}, bank).table()
    assert empty.startswith("No answers to score yet") and "the answer is" not in empty


@pytest.mark.parametrize("name", PYTHON_ONLY)
def test_python_solutions_pass_and_blanks_are_not_written_yet(name):
    notebook = next((ROOT / "exercises" / "solutions").glob(f"{EXERCISES[name].lesson}_*.ipynb"))
    solutions, problems = load_solutions(notebook)
    assert not problems
    assert check(name, solutions[name], Context(), quiet=True).status == "pass"
    blank_nb = ROOT / "exercises" / notebook.name
    blanks, _ = load_solutions(blank_nb)
    assert is_blank(blanks[name])
    assert check(name, blanks[name], quiet=True).status == "blank"


def test_a_wrong_answer_gets_the_smallest_failing_case_and_a_hint_never_the_solution(capsys):
    def first_fit(sizes, capacity):  # sorted, but the first bucket that fits instead of the best one
        if any(s > capacity for s in sizes):
            raise ValueError(f"{max(sizes)} is over {capacity}")
        buckets, rooms = [], []
        for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
            b = next((b for b, r in enumerate(rooms) if r >= sizes[i]), None)
            if b is None:
                buckets.append([])
                rooms.append(capacity)
                b = len(rooms) - 1
            buckets[b].append(i)
            rooms[b] -= sizes[i]
        return buckets

    result = check("bfd_buckets", first_fit)
    out = capsys.readouterr().out
    assert result.status == "fail" and 0 < result.passed < result.total
    assert "sizes=[20, 11, 11, 8, 5, 5], capacity=30" in out and "3 buckets; best-fit decreasing makes 2" in out
    assert "LEAST room left" in out and "def " not in out and "min(" not in out


def test_a_crash_in_the_students_code_is_reported_with_its_line():
    def pearson(n, sx, sy, sxx, syy, sxy):
        return (n * sxy - sx * sy) / ((n * sxx - sx * sx) * (n * syy - sy * sy)) ** 0.5

    result = check("pearson_from_sums", pearson, quiet=True)
    assert result.status == "fail" and "raised ZeroDivisionError" in result.failure
    assert "smallest failing case: one pair" in result.failure


def test_a_folder_of_blanks_is_graded_without_a_broker_or_spark(capsys):
    context = Context()
    results = grade_folder(ROOT / "exercises", context)
    assert {r.status for r in results} == {"blank"} and len(results) == len(EXERCISES)
    assert context.spark_session is None
    assert f"score: 0 of {len(EXERCISES)} exercises pass" in capsys.readouterr().out


def test_a_sys_exit_in_a_students_code_is_reported_and_grading_goes_on(tmp_path, capsys):
    import nbformat

    nb = nbformat.read(ROOT / "exercises" / "solutions" / "01_configuration.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    cell.source = "import sys\nsys.exit(3)\n" + cell.source
    nbformat.write(nb, tmp_path / "01_configuration.ipynb")
    shutil.copy(ROOT / "exercises" / "solutions" / "08_analytics_and_plots.ipynb", tmp_path)
    results = grade_folder(tmp_path, Context())
    out = capsys.readouterr().out
    assert "raised SystemExit: 3" in out and {r.name: r.status for r in results} == {
        "parse_duration": "error", "session_settings": "pass", "pearson_from_sums": "pass", "weather_bins": "pass"}

    def exits(text):
        raise SystemExit("bye")
    assert check("parse_duration", exits, Context(), quiet=True).status == "fail"


def test_exercise_notebooks_match_their_source_and_drift_is_caught(tmp_path, monkeypatch):
    assert builder.main(["check"]) == 0
    copy = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", copy)
    monkeypatch.setattr(builder, "ROOT", tmp_path)
    monkeypatch.setattr(builder, "FOLDER", copy)
    monkeypatch.setattr(builder, "SOURCES", copy / "source")
    monkeypatch.setattr(builder, "SOLUTIONS", copy / "solutions")
    source = copy / "source" / "03_nightly_file_pipeline.py"
    source.write_text(source.read_text().replace("best-fit decreasing", "best-fit decreasing (edited)"))
    assert builder.main(["check"]) == 1, "an edit of the source alone is caught"
    assert builder.main(["build"]) == 0 and builder.main(["check"]) == 0
    text = builder.notebooks(source)[copy / "03_nightly_file_pipeline.ipynb"].cells
    assert any('raise NotImplementedError("write your code here")' in c.source for c in text)
    assert not any("min(fits" in c.source for c in text), "the student's notebook has no solution"


def test_a_pearson_without_the_clamp_fails_on_cancelling_inputs():
    """The exercise text forbids an r outside [-1, 1]; a solution that does not clamp used to pass every case."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pearson_mutants", ROOT / "exercises" / "mutants" /
                                                  "pearson_from_sums.py")
    mutants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutants)
    result = check("pearson_from_sums", mutants.no_clamp, Context(), quiet=True)
    assert result.status == "fail" and "outside [-1, 1]" in result.failure and "clamp" in result.failure
