"""make lab's working copy (issue 41, item 1): the student studies in study/, a git-ignored copy made on first use;
refreshing it keeps the student's own version beside the new one; the tracked notebooks are never written."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from etl_lib.lab import study

ROOT = Path(__file__).resolve().parents[2]


def kit(tmp_path: Path) -> Path:
    """A small copy of the kit's layout: two lessons and one exercise notebook, as committed."""
    root = tmp_path / "kit"
    for rel in ("notebooks/02_streaming_on_threads.ipynb", "notebooks/03_nightly_file_pipeline.ipynb",
                "exercises/02_streaming_on_threads.ipynb"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    return root


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and study.STUDY not in p.parts}


def test_first_use_copies_every_notebook_without_pairing_and_with_links_for_the_copy(tmp_path):
    root = kit(tmp_path)
    before = digest(root)
    folder = study.prepare(root, echo=lambda line: None)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.ipynb")) == [
        "02_streaming_on_threads.ipynb", "03_nightly_file_pipeline.ipynb", "exercises/02_streaming_on_threads.ipynb"]
    lesson = json.loads((folder / "02_streaming_on_threads.ipynb").read_text())
    assert "jupytext" not in lesson["metadata"]  # saving the copy writes no paired source anywhere
    exercise = (folder / "exercises" / "02_streaming_on_threads.ipynb").read_text()
    assert "](../02_streaming_on_threads.ipynb)" in exercise  # the exercise points at the student's lesson copy
    assert "](../notebooks/02_streaming_on_threads.ipynb)" not in exercise
    assert digest(root) == before  # nothing tracked was written


def test_a_students_copy_is_kept_and_refresh_keeps_it_beside_the_new_one(tmp_path):
    root = kit(tmp_path)
    folder = study.prepare(root, echo=lambda line: None)
    mine = folder / "02_streaming_on_threads.ipynb"
    mine.write_text(mine.read_text().replace("minibatch", "MY NOTES", 1))
    study.prepare(root, echo=lambda line: None)
    assert "MY NOTES" in mine.read_text()  # without --refresh a copy is never replaced
    said: list[str] = []
    study.prepare(root, refresh=True, echo=said.append)
    kept = list(folder.glob("02_streaming_on_threads.mine-*.ipynb"))
    assert len(kept) == 1 and "MY NOTES" in kept[0].read_text() and "MY NOTES" not in mine.read_text()
    assert any("kept your version" in line and kept[0].name in line for line in said)
    assert not list(folder.glob("03_*.mine-*"))  # an unchanged copy is left alone


def test_the_working_copy_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", "study/02_streaming_on_threads.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0


def test_jupyterlab_starts_at_the_copy_and_runs_as_root_too(monkeypatch):
    command = study.lab_command(ROOT, 8899, "t0ken")
    assert "--ServerApp.default_url=/lab/tree/study" in command and "--IdentityProvider.token=t0ken" in command
    assert "--allow-root" not in command or study.os.geteuid() == 0
    monkeypatch.setattr(study.os, "geteuid", lambda: 0)
    assert "--allow-root" in study.lab_command(ROOT, 8899, "t0ken")


def test_the_tracked_notebooks_carry_the_kernelspec_jupyterlab_writes():
    # JupyterLab sets an open notebook's kernelspec to its kernel's own: stored equal, opening changes nothing.
    from ipykernel.kernelspec import get_kernel_dict

    name = get_kernel_dict()["display_name"]
    books = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted((ROOT / "exercises").rglob("[0-9][0-9]_*.ipynb"))
    assert len(books) >= 30
    for nb in books:
        assert json.loads(nb.read_text())["metadata"]["kernelspec"]["display_name"] == name, nb.name
