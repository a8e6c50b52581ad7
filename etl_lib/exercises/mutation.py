"""Prove the grader catches what each exercise asks: the requirements the exercise text states each have a hidden
case, and the wrong solutions kept in ``exercises/mutants/<exercise>.py`` (one requirement broken in each) fail on a
case of that requirement with a hint that names it.  The tests run these on every exercise; an instructor who adds
a case or a wrong solution can run them too::

    python -m etl_lib exercises prove            # every exercise (starts the broker and Spark where needed)
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from ..core.settings import project_root
from .grader import EXERCISES, Context, _run

__all__ = ["mutants_of", "requirement_problems", "mutant_problems", "exercise_text"]


def _folder(kind: str) -> Path:
    return project_root() / "exercises" / kind


def exercise_text(name: str) -> str:
    """The markdown of the exercise's source notebook, lines joined (what a student reads)."""
    lesson = EXERCISES[name].lesson
    source = next(_folder("source").glob(f"{lesson}_*.py")).read_text()
    lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in source.splitlines()
             if line.startswith("#")]
    return re.sub(r"\s+", " ", " ".join(lines))


def mutants_of(name: str) -> list[tuple[str, Any]]:
    """The wrong solutions of exercise ``name``: (the requirement it breaks, the function or class)."""
    path = _folder("mutants") / f"{name}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"exercise_mutants_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return list(module.MUTANTS)


def requirement_problems(name: str) -> list[str]:
    """What is wrong with an exercise's requirements, without running anything: at least two, each stated in the
    text, each with a case, every case checking one of them; at least three wrong solutions, each breaking one."""
    ex = EXERCISES[name]
    problems = []
    if len(ex.requirements) < 2:
        problems.append(f"{name}: states {len(ex.requirements)} requirement, fewer than 2")
    built = ex.cases(Context())
    text = exercise_text(name)
    for rid, stated in ex.requirements.items():
        if stated not in text:
            problems.append(f"{name}: requirement {rid!r} ({stated!r}) is not in the exercise's text")
        if not any(c.requirement == rid for c in built):
            problems.append(f"{name}: no case checks requirement {rid!r}")
    for case in built:
        if case.requirement not in ex.requirements:
            problems.append(f"{name}: the case {case.shown!r} checks no stated requirement")
    mutants = mutants_of(name)
    if len(mutants) < 3:
        problems.append(f"{name}: {len(mutants)} wrong solutions in exercises/mutants/{name}.py, fewer than 3")
    problems += [f"{name}: a wrong solution breaks {rid!r}, not a stated requirement"
                 for rid, _ in mutants if rid not in ex.requirements]
    return problems


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{5,}", text.lower()))


def mutant_problems(name: str, context: Context) -> list[str]:
    """Grade each wrong solution on the cases of the requirement it breaks: it must fail there, and the hint must
    name the requirement (a word of its id, or a word of five letters or more of its statement)."""
    ex = EXERCISES[name]
    problems = []
    for rid, wrong in mutants_of(name):
        result = _run(ex, wrong, context, only=[rid])
        label = getattr(wrong, "__name__", repr(wrong))
        if result.status != "fail" or result.failed_requirement != rid:
            problems.append(f"{name}: the wrong solution {label} passes the cases of {rid!r}, the requirement "
                            "it breaks")
            continue
        hint = (result.failure or "").split("  hint: ", 1)[-1]
        named = _words(ex.requirements[rid]) | {w for w in rid.split("-") if len(w) >= 3}
        if not set(re.findall(r"[a-z]+", hint.lower())) & named:
            problems.append(f"{name}: the hint {hint!r} does not name the requirement {rid!r}")
    return problems
