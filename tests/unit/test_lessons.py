"""Each lesson's source (notebooks/lessons/NN_slug.py) and its notebook hold the same cells, and both are linted."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import lessons  # noqa: E402


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """A copy of notebooks/ that the lessons tool works on, so the tests never touch the real one."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "cheatsheet.md", tmp_path / "docs")
    monkeypatch.setattr(lessons, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(lessons, "SOURCES", tmp_path / "notebooks" / "lessons")
    monkeypatch.setattr(lessons, "ROOT", tmp_path)
    return tmp_path / "notebooks"


def test_every_notebook_matches_its_source():
    assert lessons.check() == []
    names = {p.stem for p in lessons.sources()}
    assert names == {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def test_an_edit_on_the_source_side_only_is_caught(copy):
    src = copy / "lessons" / "06_windows_and_watermarks.py"
    src.write_text(src.read_text().replace('watermark_delay: str = "10 minutes"', 'watermark_delay: str = "5 minutes"'))
    problems = lessons.check()
    assert len(problems) == 1 and "06_windows_and_watermarks" in problems[0] and "cell 2" in problems[0]


def test_an_edit_on_the_notebook_side_only_is_caught(copy):
    path = copy / "03_nightly_file_pipeline.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source += "\nAn instructor's note typed in JupyterLab."
    nbformat.write(nb, path)
    assert any("03_nightly_file_pipeline" in p for p in lessons.check())


def test_build_carries_a_source_edit_over_and_keeps_the_other_outputs(copy):
    src = copy / "lessons" / "06_windows_and_watermarks.py"
    src.write_text(src.read_text().replace("A **tumbling window** cuts time", "A **tumbling window** slices time"))
    before = nbformat.read(copy / "06_windows_and_watermarks.ipynb", as_version=4)
    assert lessons.build(["06"]) == ["06_windows_and_watermarks.ipynb"]
    assert lessons.check() == []
    after = nbformat.read(copy / "06_windows_and_watermarks.ipynb", as_version=4)
    assert [c.get("outputs") for c in after.cells] == [c.get("outputs") for c in before.cells]
    assert "slices time" in after.cells[3].source


def test_pull_writes_a_notebook_edit_back_to_its_source(copy):
    path = copy / "03_nightly_file_pipeline.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source += "\n\nA note typed in JupyterLab: $\\sum_i s_i \\le C$."
    nbformat.write(nb, path)
    assert lessons.main(["pull", "03"]) == 0
    assert lessons.check() == []
    text = (copy / "lessons" / "03_nightly_file_pipeline.py").read_text()
    assert "\\sum_i s_i \\le C" in text, "LaTeX backslashes survive as written"


def test_exam_review_is_assembled_from_the_tagged_question_cells():
    """The exam review's notebook holds every lesson's questions (cells tagged generated); its source holds none of
    them, and stays a short hand-written file the linter reads."""
    import nbformat

    source = (ROOT / "notebooks" / "lessons" / "16_exam_review.py").read_text()
    notebook = nbformat.read(ROOT / "notebooks" / "16_exam_review.ipynb", as_version=4)
    generated = "\n".join(c.source for c in notebook.cells if lessons.GENERATED in c.metadata.get("tags", ()))
    for src in lessons.sources():
        if src.stem == lessons.REVIEW:
            continue
        questions = lessons.questions_cell(jupytext.read(src))
        assert questions, f"{src.name} has no cell tagged 'questions'"
        first = questions.split("**1. ", 1)[1].split("**", 1)[0]
        assert first in generated, src.name
        assert first not in source, f"16_exam_review.py holds a question of {src.name}: it belongs in the notebook only"
    assert len(source.splitlines()) < 200
    assert "formats" not in notebook.metadata.get("jupytext", {}), "the review must not be paired: a save in " \
        "JupyterLab would write the generated questions into its source"


def test_library_tools_tests_and_lesson_sources_pass_the_linter():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_lesson_ends_with_a_remember_cell_whose_lines_point_into_the_lesson():
    import re

    for path in lessons.sources():
        if path.stem == lessons.REVIEW:
            continue
        nb = jupytext.read(path)
        text = lessons.remember_cell(nb)
        assert text is not None, f"{path.name} has no cell tagged remember"
        bullets = [line for line in text.splitlines() if line.startswith("- ")]
        assert 5 <= len(bullets) <= 8, f"{path.name}: {len(bullets)} lines to remember, expected 5 to 8"
        others = " ".join(c.source.replace("\n", " ") for c in nb.cells if c.cell_type == "markdown"
                          and "remember" not in c.metadata.get("tags", []))
        others = re.sub(r"\s*#?\s+", " ", others)
        for line in bullets:
            pointer = re.search(r"\(→ \*(.+?)\*\)(?: \[[^\]]+\])*$", line)  # then its evidence, [NN#tag]
            assert pointer, f"{path.name}: {line!r} does not point (→ *...*) to the cell that shows it"
            assert pointer.group(1) in others, f"{path.name}: {pointer.group(1)!r} is not in the lesson"
        position = [i for i, c in enumerate(nb.cells) if "remember" in c.metadata.get("tags", [])][0]
        assert all(c.cell_type == "markdown" for c in nb.cells[position:]), f"{path.name}: Remember is not at the end"


def test_the_cheatsheet_is_what_the_remember_cells_give(copy):
    src = copy / "lessons" / "03_nightly_file_pipeline.py"
    src.write_text(src.read_text().replace("# - Best-fit decreasing: sort largest first",
                                           "# - BFD: sort largest first"))
    lessons.build(["03"])
    sheet = (copy.parent / "docs" / "cheatsheet.md").read_text()
    assert "- BFD: sort largest first" in sheet and "## 03 · " in sheet
    assert (ROOT / "docs" / "cheatsheet.md").read_text() != sheet  # the real page is untouched
