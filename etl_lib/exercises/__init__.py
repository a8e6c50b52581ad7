"""Exercises the kit grades: the student writes a function, the grader runs it against hidden cases and the real
pipeline (a real broker and real Spark where the exercise needs them).

In an exercise notebook::

    from etl_lib.exercises import check
    check("bfd_buckets", bfd_buckets)

prints how many checks passed and, for a failure, the smallest failing input with a hint (never the solution).
``python -m etl_lib exercises grade exercises/`` (``make grade``) grades every notebook of a folder and prints a
score table; ``grade-class SUBMISSIONS/`` grades a whole class, each student in a process of their own, into a
gradebook (:mod:`etl_lib.exercises.classroom`).  The exercises and the 35 concepts they practise are listed in ``exercises/README.md``.
"""

from __future__ import annotations

from . import cases as _cases  # noqa: F401 - registers the exercises
from .grader import EXERCISES, Context, Result, check, grade_folder

__all__ = ["check", "grade_folder", "EXERCISES", "Context", "Result"]
