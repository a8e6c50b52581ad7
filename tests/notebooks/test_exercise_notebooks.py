"""The blank exercise notebooks run under papermill from top to bottom: every check cell reports "not written yet"
and no cell raises (errors would be allowed only in the student's cells, and the blanks have none)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
BLANKS = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


def test_there_is_an_exercise_notebook_per_practised_lesson():
    assert [p.name[:2] for p in BLANKS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "11", "13", "14", "15"]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", BLANKS, ids=lambda p: p.stem)
def test_blank_exercise_notebook_runs_and_says_what_to_write(path, tmp_path):
    import papermill as pm

    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), cwd=str(path.parent), kernel_name="python3", progress_bar=False)
    cells = nbformat.read(out, as_version=4).cells
    text = "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.get("outputs", []))
    checks = sum("check(" in c.source for c in cells if c.cell_type == "code")
    assert checks and text.count("not written yet") == checks
    assert not any(o.output_type == "error" for c in cells for o in c.get("outputs", []))
