"""Keep each lesson's reviewable source and its notebook in step.

Every lesson has two files: ``notebooks/lessons/NN_slug.py`` (jupytext percent
format: the source an instructor edits, diffs and lints) and
``notebooks/NN_slug.ipynb`` (the same cells with their stored outputs, which
students open and nbval checks).  The two are *paired*: JupyterLab with
jupytext (installed by ``make install``) saves both whenever either is edited.

    python tools/lessons.py build [NN ...]   # sources -> notebooks (keeps outputs of unchanged cells)
    python tools/lessons.py pull NN [NN ...] # notebook -> source, after editing an .ipynb without jupytext
    python tools/lessons.py check            # exit 1 when a notebook and its source differ

``build`` also writes into the exam review's notebook (15) every lesson's cell tagged
``questions`` (its source, ``lessons/16_exam_review.py``, is hand-written and holds none of them), docs/cheatsheet.md from every lesson's cell tagged ``remember``, and
rewrites the navigation cells and ``notebooks/README.md``.
After ``build``, re-execute the changed lessons to store their outputs:
``make notebooks-refresh LESSON=06``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "lessons"
sys.path.insert(0, str(ROOT / "tools"))
import nbnav  # noqa: E402

FORMAT = "py:percent"
PAIRING = "ipynb,lessons//py:percent"
REVIEW = "16_exam_review"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}  # what JupyterLab writes
GENERATED = "generated"  # a cell the build writes into a notebook only (the exam review's questions)
QUESTIONS_HERE = "lesson-questions"  # the review's cell after which the generated questions go


def sources(selected: list[str] | None = None) -> list[Path]:
    """The lesson sources, in teaching order (``selected``: lesson numbers such as "06")."""
    paths = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    return [p for p in paths if not selected or p.name[:2] in selected]


def notebook_of(source: Path) -> Path:
    return NOTEBOOKS / f"{source.stem}.ipynb"


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """What pairing must keep equal: each cell's type, source and tags (outputs and ids aside), the generated
    cells of the exam review aside (they are in its notebook only)."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells
            if GENERATED not in c.metadata.get("tags", ())]


def drift(source: Path) -> str | None:
    """None when the notebook has exactly the source's cells, else where they first differ."""
    target = notebook_of(source)
    if not target.exists():
        return f"{target.relative_to(ROOT)} is missing (run `python tools/lessons.py build`)"
    a, b = _cells(jupytext.read(source)), _cells(nbformat.read(target, as_version=4))
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            first = (x[1] or y[1]).splitlines()[:1]
            return (f"cell {i} differs between {source.relative_to(ROOT)} and {target.relative_to(ROOT)} "
                    f"({first[0][:60] if first else 'empty cell'!r})")
    if len(a) != len(b):
        return f"{source.name} has {len(a)} cells, {target.name} has {len(b)}"
    return None


def _write_notebook(source: Path) -> bool:
    """Write the notebook of ``source``, keeping the outputs of the cells whose source did not change."""
    target = notebook_of(source)
    new = jupytext.read(source)
    review = source.stem == REVIEW
    if review:
        new = _with_sections(new, review_sections(sources()))
    if target.exists():
        old = nbformat.read(target, as_version=4)
        if _cells(old) == _cells(new) and (not review or _sections_of(old) == _sections_of(new)):
            return False
        new = combine_inputs_with_outputs(new, old, fmt=FORMAT)
    new.metadata["kernelspec"] = KERNEL
    new.metadata.setdefault("language_info", {"name": "python"})
    if review:  # not paired: JupyterLab would save the generated questions into the hand-written source
        new.metadata.get("jupytext", {}).pop("formats", None)
    else:
        new.metadata.setdefault("jupytext", {})["formats"] = PAIRING
    nbformat.write(new, target)
    return True


def _sections_of(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if GENERATED in c.metadata.get("tags", ())]


def _write_source(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if GENERATED not in c.metadata.get("tags", ())]
    nb.metadata.setdefault("jupytext", {})["formats"] = PAIRING
    jupytext.write(nb, SOURCES / f"{notebook.stem}.py", fmt=FORMAT)


def questions_cell(nb: nbformat.NotebookNode) -> str | None:
    """The source of the lesson's cell tagged ``questions`` ("## Check yourself" and the questions)."""
    return next((c.source for c in nb.cells if "questions" in c.metadata.get("tags", ())), None)


def review_sections(lessons: list[Path]) -> list[nbformat.NotebookNode]:
    """The generated part of the exam review: one markdown cell per lesson (tagged ``generated``) holding its
    *Check yourself* questions, headed by the lesson's title and a link back to it.  They go into the review's
    notebook only, after its cell tagged ``lesson-questions``; its source stays hand-written and small."""
    cells = []
    for path in lessons:
        if path.stem == REVIEW:
            continue
        nb = jupytext.read(path)
        text = questions_cell(nb)
        if text is None:
            continue
        title = re.sub(r"^#\s*", "", nb.cells[0].source.splitlines()[0])
        body = text.split("\n", 1)[1].lstrip("\n") if text.startswith("## ") else text
        cells.append(nbformat.v4.new_markdown_cell(f"## {title}\n\n[open the notebook]({path.stem}.ipynb)\n\n{body}",
                                                   metadata={"tags": [GENERATED]}))
    return cells


def _with_sections(nb: nbformat.NotebookNode, sections: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """``nb`` (the review's hand-written cells) with ``sections`` after its cell tagged ``lesson-questions``."""
    at = next(i for i, c in enumerate(nb.cells) if QUESTIONS_HERE in c.metadata.get("tags", ()))
    nb.cells = nb.cells[:at + 1] + sections + nb.cells[at + 1:]
    return nb


def cheatsheet_path() -> Path:
    return ROOT / "docs" / "cheatsheet.md"


def remember_cell(nb: nbformat.NotebookNode) -> str | None:
    """The text of a lesson's markdown cell tagged ``remember`` (its "Remember" summary), or None."""
    cells = [c.source for c in nb.cells if c.cell_type == "markdown" and "remember" in c.metadata.get("tags", [])]
    return cells[0] if cells else None


def cheatsheet_text(lessons: list[Path]) -> str:
    """docs/cheatsheet.md: every lesson's Remember cell, in teaching order, on one page."""
    parts = ["# Cheatsheet: what to remember from each lesson", "",
             "Collected from the *Remember* cell at the end of every lesson by `python tools/lessons.py build` "
             "(do not edit by hand). Each line points (→) to the part of the lesson that shows it live. "
             "`make cheatsheet` prints this page to `build/cheatsheet.html` (A4, for printing).", ""]
    for path in lessons:
        if path.stem == REVIEW:
            continue
        nb = jupytext.read(path)
        text = remember_cell(nb)
        if text is None:
            continue
        title = re.sub(r"^#\s*", "", nb.cells[0].source.splitlines()[0])
        bullets = [line for line in text.splitlines() if line.startswith("- ")]
        parts += [f"## {title}", "", *bullets, ""]
    return "\n".join(parts)


def build(selected: list[str] | None = None) -> list[str]:
    """Sources -> notebooks, then the exam review, the cheatsheet and the navigation.  Returns the notebooks
    rewritten."""
    review = SOURCES / f"{REVIEW}.py"
    sheet, sheet_path = cheatsheet_text(sources()), cheatsheet_path()
    if not sheet_path.exists() or sheet_path.read_text() != sheet:
        sheet_path.parent.mkdir(parents=True, exist_ok=True)
        sheet_path.write_text(sheet)
    changed = [notebook_of(p).name for p in sources(selected) if _write_notebook(p)]
    if _write_notebook(review) and notebook_of(review).name not in changed:
        changed.append(notebook_of(review).name)
    nbnav.update(NOTEBOOKS)
    # nbnav edits the notebooks; carry its navigation cells back to the sources.
    for p in sources():
        if drift(p):
            _write_source(notebook_of(p))
    return changed


def check() -> list[str]:
    """Every difference between a lesson source and its notebook, and a stale exam review."""
    problems = [d for p in sources() if (d := drift(p))]
    review = notebook_of(SOURCES / f"{REVIEW}.py")
    if review.exists() and _sections_of(nbformat.read(review, as_version=4)) != [
            c.source for c in review_sections(sources())]:
        problems.append(f"{review.relative_to(ROOT)} does not hold what the lessons' question cells give")
    sheet_path = cheatsheet_path()
    if not sheet_path.exists() or sheet_path.read_text() != cheatsheet_text(sources()):
        problems.append(f"{sheet_path.relative_to(ROOT)} is not what the lessons' Remember cells give")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write notebooks from their sources (outputs of unchanged cells kept)")
    b.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    p = sub.add_parser("pull", help="write sources from their notebooks (after editing an .ipynb)")
    p.add_argument("lessons", nargs="+", help="lesson numbers")
    sub.add_parser("check", help="report notebooks that differ from their sources")
    args = parser.parse_args(argv)
    if args.command == "build":
        changed = build(args.lessons)
        print("rewritten: " + (", ".join(changed) if changed else "none (every notebook matches its source)"))
        if changed:
            numbers = " ".join(sorted({c[:2] for c in changed}))
            print(f"store their outputs with: make notebooks-refresh LESSON=\"{numbers}\"")
        return 0
    if args.command == "pull":
        for n in args.lessons:
            matches = sorted(NOTEBOOKS.glob(f"{n}_*.ipynb"))
            if not matches:
                print(f"no notebook numbered {n}", file=sys.stderr)
                return 2
            _write_source(matches[0])
            print(f"{matches[0].name} -> lessons/{matches[0].stem}.py")
        return 0
    problems = check()
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("Fix: edit the .py under notebooks/lessons/ and run `python tools/lessons.py build`, or, after "
              "editing a notebook, `python tools/lessons.py pull NN`.", file=sys.stderr)
        return 1
    print(f"{len(sources())} lesson sources match their notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
