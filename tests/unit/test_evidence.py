"""Claims carry their evidence (issue 37, item 2): every model answer of exercises/explain.md (its "Shown in."
line), every explanation of exercises/questions.md and every Remember line of a lesson names where its claim is
shown, and every such reference resolves.

A reference is either a lesson cell, ``[06#late-event-dropped]``: lesson 06 has a code cell tagged
``shows:late-event-dropped`` whose stored output demonstrates the claim; or a document with its version, where no
cell can show it, ``[doc: Spark 4.2 · Structured Streaming Programming Guide · Handling Late Data]``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[2]
LESSON_REF = re.compile(r"\[(\d\d)#([a-z0-9][a-z0-9-]*)\]")
DOC_REF = re.compile(r"\[doc: ([A-Za-z][\w .+-]*?) (\d+\.\d+(?:\.\d+)?) · ([^\]·]+?)(?: · ([^\]]+?))?\]")
ANY_REF = re.compile(r"\[(?:\d\d#|doc: )[^\]]*\]")


@cache
def shown_cells() -> dict[tuple[str, str], bool]:
    """(lesson, tag) -> whether that cell is a code cell with a stored output, for every cell tagged shows:..."""
    found: dict[tuple[str, str], bool] = {}
    for source in sorted((ROOT / "notebooks" / "lessons").glob("[0-9][0-9]_*.py")):
        cells = jupytext.read(source).cells
        stored = json.loads((ROOT / "notebooks" / f"{source.stem}.ipynb").read_text())["cells"]
        stored = [c for c in stored if "generated" not in c.get("metadata", {}).get("tags", [])]
        for i, cell in enumerate(cells):
            for tag in cell.metadata.get("tags", []):
                if tag.startswith("shows:"):
                    twin = stored[i] if i < len(stored) else {}
                    found[(source.name[:2], tag[len("shows:"):])] = (
                        cell.cell_type == "code" and twin.get("cell_type") == "code" and bool(twin.get("outputs")))
    return found


def problems_of(text: str, where: str) -> list[str]:
    """What is wrong with the references of one claim: none at all, or one that does not resolve."""
    refs = ANY_REF.findall(text)
    if not refs:
        return [f"{where}: names no evidence ([NN#tag] or [doc: Project N.N · Document · Section])"]
    out = []
    for ref in refs:
        lesson = LESSON_REF.fullmatch(ref)
        if lesson:
            ok = shown_cells().get((lesson.group(1), lesson.group(2)))
            if ok is None:
                out.append(f"{where}: {ref}: lesson {lesson.group(1)} has no cell tagged shows:{lesson.group(2)}")
            elif not ok:
                out.append(f"{where}: {ref}: the cell tagged shows:{lesson.group(2)} is not a code cell with output")
        elif not DOC_REF.fullmatch(ref):
            out.append(f"{where}: {ref}: a document reference names the project, its version, the document and "
                       "the section: [doc: Spark 4.2 · Structured Streaming Programming Guide · Section]")
    return out


def claims() -> list[tuple[str, str]]:
    """(where, text) of every claim that must carry evidence."""
    from etl_lib.exercises.explain import load_explain
    from etl_lib.exercises.quiz import entries

    out = [(f"explain.md {q.id}", q.evidence) for q in load_explain()]
    for _, lines in entries(ROOT / "exercises" / "questions.md"):
        out.append((f"questions.md {lines[0].split(' · ')[0][3:]}",
                    " ".join(line for line in lines if line.startswith(">"))))
    for source in sorted((ROOT / "notebooks" / "lessons").glob("[0-9][0-9]_*.py")):
        for cell in jupytext.read(source).cells:
            if "remember" in cell.metadata.get("tags", []):
                out += [(f"{source.name} Remember: {line[:50]}", line) for line in cell.source.splitlines()
                        if line.startswith("- ")]
    return out


def test_every_claim_names_evidence_that_resolves():
    found = [p for where, text in claims() for p in problems_of(text, where)]
    total = len(claims())
    assert not found, f"{len(found)} problems in {total} claims:\n" + "\n".join(found[:60])


def test_the_resolver_can_fail():
    assert problems_of("A claim with nothing behind it.", "x")
    assert problems_of("[06#no-such-cell-anywhere]", "x")
    assert problems_of("[doc: Spark Structured Streaming Programming Guide]", "x")  # no version
    assert not problems_of("[doc: Spark 4.2 · Structured Streaming Programming Guide · Handling Late Data]", "x")
