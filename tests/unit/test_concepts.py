"""docs/concepts.md shows, for each of the 35 concepts, the lesson cell that shows it, its questions, the graded
requirement that tests it and its docs page (issue 37, item 4); this keeps all four present and true."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from etl_lib.exercises import cases  # noqa: F401 - registers every exercise
from etl_lib.exercises.grader import EXERCISES
from etl_lib.exercises.mutation import mutants_of
from etl_lib.exercises.quiz import Concept, load_bank, load_concepts
from test_evidence import shown_cells

ROOT = Path(__file__).resolve().parents[2]
CONCEPTS = load_concepts()


def problems_of(c: Concept) -> list[str]:
    """What is missing or untrue in one row of the table."""
    out = []
    lesson, _, tag = c.shown.partition("#")
    if not shown_cells().get((lesson, tag)):
        out.append(f"{c.id}: [{c.shown}] is not a code cell with stored output tagged shows:{tag} in lesson {lesson}")
    asked = Counter(q.concept for q in load_bank())[c.id]
    if c.questions != asked or asked < 3:
        out.append(f"{c.id}: the table says {c.questions} questions, the bank has {asked} (at least 3 needed)")
    name, _, requirement = (part.strip() for part in c.graded.partition("·"))
    ex = EXERCISES.get(name)
    if ex is None:
        out.append(f"{c.id}: graded by {name!r}, which is not an exercise")
    else:
        if c.id not in ex.concepts:
            out.append(f"{c.id}: exercise {name} does not list the concept")
        if requirement not in ex.requirements:
            out.append(f"{c.id}: exercise {name} states no requirement {requirement!r}")
        if not any(broken == requirement for broken, _ in mutants_of(name)):
            out.append(f"{c.id}: no wrong solution in exercises/mutants/{name}.py breaks {requirement!r}")
    if not (ROOT / "docs" / c.page).is_file():
        out.append(f"{c.id}: docs/{c.page} does not exist")
    return out


def test_the_table_lists_all_34_concepts():
    assert len(CONCEPTS) == 35
    assert set(CONCEPTS) == {q.concept for q in load_bank()}


@pytest.mark.parametrize("cid", list(CONCEPTS))
def test_each_concept_has_its_cell_questions_graded_requirement_and_page(cid):
    assert not problems_of(CONCEPTS[cid])


def test_the_check_can_fail():
    good = CONCEPTS["watermarks"]
    assert problems_of(replace(good, shown="06#no-such-cell"))
    assert problems_of(replace(good, questions=good.questions + 1))
    assert problems_of(replace(good, graded="windowed_counts · no-such-requirement"))
    assert problems_of(replace(good, graded="parse_duration · refuse"))  # an exercise that does not list it
    assert problems_of(replace(good, page="no_such_page.md"))
