"""The wrong solutions of the exercises that need the broker or Spark (exercises/mutants/) fail on the cases of
the requirement each breaks, with a hint that names it: graded on the session's real broker and Spark."""

from __future__ import annotations

import pytest

from etl_lib.exercises import cases as _cases  # noqa: F401 - registers the exercises
from etl_lib.exercises.grader import EXERCISES, Context
from etl_lib.exercises.mutation import mutant_problems

JVM = sorted(n for n, ex in EXERCISES.items() if ex.needs != "python" and ex.requirements)


@pytest.fixture(scope="module")
def context(spark, settings):
    return Context(settings=settings, spark_session=spark)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", JVM)
def test_each_wrong_solution_fails_on_the_requirement_it_breaks(name, context):
    assert mutant_problems(name, context) == []
