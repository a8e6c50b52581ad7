"""The grader catches what each exercise asks (issue 28), for the exercises that need neither broker nor Spark:
every requirement the exercise text states has a hidden case; the wrong solutions in exercises/mutants/ (one
requirement broken in each) fail on a case of the requirement they break, with a hint that names it; and no hint of
any exercise gives away a line of its solution.  tests/integration/test_grader_mutants_jvm.py does the same for the
exercises that need the broker or Spark."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl_lib.exercises import cases as _cases  # noqa: F401 - registers the exercises
from etl_lib.exercises.grader import EXERCISES, Context, check
from etl_lib.exercises.mutation import mutant_problems, mutants_of, requirement_problems

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "exercises" / "source"
PYTHON = sorted(n for n, ex in EXERCISES.items() if ex.needs == "python")


def _solution_lines(lesson: str) -> list[str]:
    source = next(SOURCES.glob(f"{lesson}_*.py")).read_text()
    blocks = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if len(line.strip()) >= 20 and not line.strip().startswith("#")]


def test_every_exercise_states_at_least_two_requirements():
    assert len(EXERCISES) >= 18
    thin = {n: len(ex.requirements) for n, ex in EXERCISES.items() if len(ex.requirements) < 2}
    assert not thin, f"exercises with fewer than two stated requirements: {thin}"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_every_stated_requirement_has_a_case_and_wrong_solutions(name):
    assert requirement_problems(name) == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", PYTHON)
def test_each_wrong_solution_fails_on_the_requirement_it_breaks(name):
    assert mutant_problems(name, Context()) == []
    for _, wrong in mutants_of(name):  # graded whole, too: no wrong solution passes
        assert check(name, wrong, Context(), quiet=True).status == "fail"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_no_hint_gives_a_line_of_the_solution_away(name):
    """No hint holds a line of the solution, nor one call of a chained line with its arguments
    (`.withWatermark("start_time", "10 minutes")`): a hint names the idea, the student writes the code."""
    ex = EXERCISES[name]
    squeeze = lambda s: re.sub(r"[\s'\"]", "", s)  # noqa: E731 - quotes and spaces aside
    hints = [squeeze(c.hint) for c in ex.cases(Context())]
    solution = _solution_lines(ex.lesson)
    assert solution, f"no solution lines found for lesson {ex.lesson}: did the ### BEGIN/END SOLUTION markers change?"
    for line in solution:
        pieces = [squeeze(line)] + [p for p in re.findall(r"\.?(\w+\([^()]*(?:\([^()]*\)[^()]*)*\))", squeeze(line))
                                    if len(p) >= 25]
        for piece in pieces:
            assert not any(piece in h for h in hints), f"{name}: a hint contains {piece!r} of the solution"
