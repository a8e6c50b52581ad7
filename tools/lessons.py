"""Keep each lesson's reviewable source and its notebook in step.

Every lesson has two files: ``notebooks/lessons/NN_slug.py`` (jupytext percent
format: the source an instructor edits, diffs and lints) and
``notebooks/NN_slug.ipynb`` (the same cells with their stored outputs, which
students open and nbval checks).  The two are *paired*: JupyterLab with
jupytext (installed by ``make install``) saves both whenever either is edited.

    python tools/lessons.py build [NN ...]   # sources -> notebooks (keeps outputs of unchanged cells)
    python tools/lessons.py pull NN [NN ...] # notebook -> source, after editing an .ipynb without jupytext
    python tools/lessons.py check            # exit 1 when a notebook and its source differ

``build`` also regenerates the exam review (15) from every lesson's cell tagged
``questions``, docs/cheatsheet.md from every lesson's cell tagged ``remember``, and
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
REVIEW = "15_exam_review"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def sources(selected: list[str] | None = None) -> list[Path]:
    """The lesson sources, in teaching order (``selected``: lesson numbers such as "06")."""
    paths = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    return [p for p in paths if not selected or p.name[:2] in selected]


def notebook_of(source: Path) -> Path:
    return NOTEBOOKS / f"{source.stem}.ipynb"


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """What pairing must keep equal: each cell's type, source and tags (outputs and ids aside)."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


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
    if target.exists():
        old = nbformat.read(target, as_version=4)
        if _cells(old) == _cells(new):
            return False
        new = combine_inputs_with_outputs(new, old, fmt=FORMAT)
    new.metadata["kernelspec"] = KERNEL
    new.metadata.setdefault("language_info", {"name": "python"})
    new.metadata.setdefault("jupytext", {})["formats"] = PAIRING
    nbformat.write(new, target)
    return True


def _write_source(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.setdefault("jupytext", {})["formats"] = PAIRING
    jupytext.write(nb, SOURCES / f"{notebook.stem}.py", fmt=FORMAT)


def questions_cell(nb: nbformat.NotebookNode) -> str | None:
    """The source of the lesson's cell tagged ``questions`` ("## Check yourself" and the questions)."""
    return next((c.source for c in nb.cells if "questions" in c.metadata.get("tags", ())), None)


def review_source(lessons: list[Path]) -> str:
    """The exam review (the last notebook) as a percent-format source, assembled from the lessons' question cells."""
    books = [(p, jupytext.read(p)) for p in lessons if p.stem != REVIEW]
    counts: dict[str, int] = {}
    sections = []
    for path, nb in books:
        text = questions_cell(nb)
        if text is None:
            continue
        title = re.sub(r"^#\s*", "", nb.cells[0].source.splitlines()[0])
        counts[path.name[:2]] = len(re.findall(r"^\*\*\d+\. ", text, flags=re.M))
        body = text.split("\n", 1)[1].lstrip("\n") if text.startswith("## ") else text
        sections.append(f"## {title}\n\n[open the notebook]({path.stem}.ipynb)\n\n{body}")
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {REVIEW[:2]} · Exam review\n\n**You will learn to**\n\n"
            "- answer every self-check question of the kit in one place\n"
            "- score yourself per concept on the question bank, and find the lesson and page to reread\n"
            "- find the notebook to reread for each topic\n"
            "- write an explanation of each concept and check it against a model answer's key points\n\n"
            f"**Prerequisites:** notebooks 00 to {max(counts)}\\\n**Time:** about 40 minutes"),
        nbformat.v4.new_code_cell(f'from etl_lib.lab import setup\n\nlesson = setup("{REVIEW[:2]}", kafka=False)'),
        nbformat.v4.new_code_cell(
            'show_counts: bool = True\n'
            'answers_file: str = ""  # a JSON file {question id: letter} to score; empty: the answers in the quiz cell\n'
            'explain_file: str = ""  # a JSON file {question id: written answer} to check; empty: the cell\'s answers\n'
            'serbian: bool = False  # show the model answers in Serbian',
            metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell(
            "Try each question before opening the answer. The heading under each notebook links back to it."),
        *[nbformat.v4.new_markdown_cell(s) for s in sections],
        nbformat.v4.new_code_cell(
            "counts = {" + ", ".join(f'"{k}": {v}' for k, v in counts.items()) + "}\n"
            "if show_counts:\n    print(sum(counts.values()), \"questions in\", len(counts), \"notebooks\")"),
        *_quiz_cells(),
        *_explain_cells(),
        nbformat.v4.new_markdown_cell(
            "## Summary\n\nEvery question of the kit with its answer. For the concepts behind them, see docs/ "
            "and the glossary.\n\n**Further reading**\n\n- docs/glossary.md\n- docs/README.md"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["jupytext"] = {"formats": PAIRING}
    old = SOURCES / f"{REVIEW}.py"
    if old.exists():  # keep the navigation cell nbnav wrote
        nav = [c for c in jupytext.read(old).cells if nbnav.MARKER in c.source]
        nb.cells += nav
    return jupytext.writes(nb, fmt=FORMAT)


def _quiz_cells() -> list[nbformat.NotebookNode]:
    """The quiz over exercises/questions.md: the bank per concept, one concept's questions, a scored answer set."""
    return [
        nbformat.v4.new_markdown_cell(
            "## Quiz: the question bank, scored per concept\n\n"
            "`exercises/questions.md` holds multiple-choice questions tagged with a lesson and one of the 34 concepts "
            "of [docs/concepts.md](../docs/concepts.md). Many are *predict the output*: change a parameter in the "
            "lesson, predict, then run it. The table counts them per concept and kind."),
        nbformat.v4.new_code_cell(
            "import pandas as pd\n\n"
            "from etl_lib.exercises.quiz import load_bank, load_concepts, score_answers, show\n\n"
            "bank, concepts = load_bank(), load_concepts()\n"
            "per_concept = pd.crosstab(pd.Series([q.concept for q in bank], name=\"concept\"),\n"
            "                          pd.Series([q.kind for q in bank], name=\"kind\")).reindex(list(concepts))\n"
            "per_concept[\"total\"] = per_concept.sum(axis=1)\n"
            "print(f\"{len(bank)} questions on {per_concept.shape[0]} concepts\")\n"
            "per_concept"),
        nbformat.v4.new_markdown_cell(
            "Print the questions of a concept (or `lesson=\"06\"`) without their answers, and note your letters:"),
        nbformat.v4.new_code_cell('show(bank, concept="watermarks")'),
        nbformat.v4.new_markdown_cell(
            "Write your answers as `{question id: letter}` in the cell below (it is stored empty, so that no "
            "stored report gives an answer away), or save them as JSON and pass the file as the `answers_file` "
            "parameter (`papermill ... -p answers_file my_answers.json`). The report scores each concept you answered, "
            "explains each wrong answer, and says which lesson and page to reread."),
        nbformat.v4.new_code_cell(
            "import json\n"
            "from pathlib import Path\n\n"
            "answers: dict[str, str] = {}  # for example {\"q070\": \"b\", \"q071\": \"a\"}\n"
            "if answers_file:\n"
            "    answers = json.loads(Path(answers_file).read_text())\n"
            "report = score_answers(answers, bank, concepts)\n"
            "report"),
        nbformat.v4.new_code_cell(
            "assert report.answered == len(answers) - len(report.unknown)\n"
            "print(\"every answer scored against the bank:\", report.correct <= report.answered)"),
    ]


def _explain_cells() -> list[nbformat.NotebookNode]:
    """The written questions of exercises/explain.md: per concept, one concept's questions, a written answer checked."""
    return [
        nbformat.v4.new_markdown_cell(
            "## Explain it: written answers\n\n"
            "The written exam asks you to *explain* a concept in a paragraph. `exercises/explain.md` holds a written "
            "question for every concept and for each \"For your exam\" prompt of seed 003, with a model answer (in "
            "English and Serbian), the key points an examiner looks for and the answer often given that is wrong. "
            "Write your answer first, in your own words; then the check shows the model answer and which key points "
            "your text names. It matches terms in either language, so it is a hint about what you may have left out, "
            "never a grade."),
        nbformat.v4.new_code_cell(
            "from etl_lib.exercises.explain import check_answers, load_explain\n\n"
            "written_bank = load_explain()\n"
            "per_concept_written = pd.Series([q.concept for q in written_bank]).value_counts().reindex(list(concepts))\n"
            "print(f\"{len(written_bank)} written questions; every concept has at least one:\", "
            "bool(per_concept_written.min() >= 1))\n"
            "for q in written_bank:\n"
            "    if q.concept == \"watermarks\":\n"
            "        print(f\"{q.id} (lesson {q.lesson}): {q.question}\")"),
        nbformat.v4.new_markdown_cell(
            "Write your answers as `{question id: your text}` below (stored empty, so that nothing stored gives an "
            "answer away), or save them as JSON and pass the file as the `explain_file` parameter. Set `serbian` to "
            "see the model answers in Serbian."),
        nbformat.v4.new_code_cell(
            "written: dict[str, str] = {}  # for example {\"x22\": \"The watermark is ...\"}\n"
            "if explain_file:\n"
            "    written = json.loads(Path(explain_file).read_text())\n"
            "print(check_answers(written, written_bank, serbian=serbian))"),
    ]


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
    text = review_source(sources())
    if not review.exists() or review.read_text() != text:
        review.write_text(text)
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
    review = SOURCES / f"{REVIEW}.py"
    if review.exists() and _cells(jupytext.reads(review_source(sources()), fmt=FORMAT)) != _cells(
            jupytext.read(review)):
        problems.append(f"{review.relative_to(ROOT)} is not what the lessons' question cells give")
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
