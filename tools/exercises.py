"""Build the exercise notebooks from their sources, as nbgrader does: one source, two notebooks.

``exercises/source/NN_*.py`` (jupytext percent format) holds each exercise with its solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``.  ``build`` writes

- ``exercises/NN_*.ipynb``: the student's notebook, each solution replaced by
  ``raise NotImplementedError("write your code here")``;
- ``exercises/solutions/NN_*.ipynb``: the same with the solutions.

``check`` fails when a committed notebook differs from what ``build`` would write (an edit on one side only).
Usage: ``python tools/exercises.py build|check``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "exercises"
SOURCES = FOLDER / "source"
SOLUTIONS = FOLDER / "solutions"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}  # what JupyterLab writes
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.M | re.S)
_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\n", re.M)


def blank(source: str) -> str:
    """The student's version of a cell: every solution block becomes one ``raise NotImplementedError``."""
    return _BLOCK.sub(lambda m: f'{m["indent"]}raise NotImplementedError("write your code here")\n', source)


def solved(source: str) -> str:
    """The solution's version of a cell: the markers removed."""
    return _MARKERS.sub("", source)


def notebooks(source: Path) -> dict[Path, nbformat.NotebookNode]:
    nb = jupytext.read(source)
    out = {}
    for target, edit in ((FOLDER / f"{source.stem}.ipynb", blank), (SOLUTIONS / f"{source.stem}.ipynb", solved)):
        cells = []
        for i, cell in enumerate(nb.cells):
            text = edit(cell.source) if cell.cell_type == "code" else cell.source
            new = (nbformat.v4.new_code_cell(text) if cell.cell_type == "code"
                   else nbformat.v4.new_markdown_cell(text))
            new.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
            new["id"] = f"cell-{i:02d}"
            cells.append(new)
        book = nbformat.v4.new_notebook(cells=cells)
        book.metadata["kernelspec"] = KERNEL
        out[target] = book
    return out


def _text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    stale = []
    SOLUTIONS.mkdir(parents=True, exist_ok=True)
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        for target, nb in notebooks(source).items():
            text = _text(nb)
            if target.exists() and target.read_text() == text:
                continue
            if command == "check":
                stale.append(target.relative_to(ROOT))
            else:
                target.write_text(text)
                print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("out of date with exercises/source (run `python tools/exercises.py build`):",
              *map(str, stale), sep="\n  ")
        return 1
    if command == "check":
        print("exercise notebooks match their sources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
