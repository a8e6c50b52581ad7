"""Every cell of a lesson can be run again (issue 41, item 2): each cell marked ``# runs once`` (it sends records or
starts a query) is run twice in a row, as a student clicking it again would; the second run prints the one line
that says so, and the lesson still reaches its stored outputs: every check cell passes and each printed result
equals the committed one.  Lesson 07 in `make test`; the others with marked cells in the long lane (09, 10 and 12
already run there for minutes each and are left to nbval).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from etl_lib.lab.once import MARK

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

QUICK = ("07",)  # the lesson whose re-run query cell once broke every check below it
LONG = ("02", "04", "05", "06", "08", "11", "13", "14")


def lesson(number: str):
    return next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))


def marked(cell) -> bool:
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return cell.cell_type == "code" and MARK.match(first) is not None


def texts(cell) -> str:
    """What a cell printed or returned as plain text (images and HTML left out: their bytes vary by machine)."""
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data") and "image/png" not in o.get("data", {}):
            out.append(o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def run_twice(number: str, settings, tmp_path, monkeypatch) -> None:
    import papermill as pm

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    stored = nbformat.read(lesson(number), as_version=4)
    twice, copies = nbformat.v4.new_notebook(metadata=stored.metadata), set()
    for cell in stored.cells:
        twice.cells.append(cell)
        if marked(cell):
            again = nbformat.from_dict(dict(cell, id=f"{cell.get('id', 'cell')}-again", outputs=[]))
            copies.add(again.id)
            twice.cells.append(again)
    assert copies, f"lesson {number} has no cell marked '# runs once'"
    source, out = tmp_path / f"{number}-twice.ipynb", tmp_path / f"{number}-ran.ipynb"
    nbformat.write(twice, source)
    pm.execute_notebook(str(source), str(out), cwd=str(ROOT / "notebooks"), kernel_name="python3",
                        progress_bar=False, request_save_on_cell_execute=False)
    ran = nbformat.read(out, as_version=4)
    by_id = {c.get("id"): c for c in stored.cells}
    for cell in ran.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"lesson {number}: {errors[0]['ename']}: {errors[0]['evalue'][:500]}"
        if cell.get("id") in copies:
            assert texts(cell).startswith("This cell already ran"), (number, cell.source[:80], texts(cell))
            continue
        before = by_id.get(cell.get("id"))
        ignored = "nbval-ignore-output" in cell.metadata.get("tags", [])
        if before is not None and not ignored and "parameters" not in cell.metadata.get("tags", []):
            assert texts(cell) == texts(before), f"lesson {number}, cell {cell.source[:80]!r}: output changed"


@pytest.mark.parametrize("number", QUICK)
def test_a_lesson_with_each_sending_cell_run_twice_ends_as_stored(number, settings, tmp_path, monkeypatch):
    run_twice(number, settings, tmp_path, monkeypatch)


@pytest.mark.soak
@pytest.mark.parametrize("number", LONG)
def test_the_other_lessons_too(number, settings, tmp_path, monkeypatch):
    run_twice(number, settings, tmp_path, monkeypatch)
