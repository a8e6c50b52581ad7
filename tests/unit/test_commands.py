"""One way in: every command of the kit is ``python -m etl_lib <command>`` (issue 39), every lesson imports one
face (``etl_lib.lab``), and the old second names are gone from the code, the lessons and the docs."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from etl_lib.__main__ import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
GONE = ("kafka_local", "notebook", "live", "demo", "doctor", "cluster")  # etl_lib.<name>: second homes, removed


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_answers_help_with_its_own_name(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert f"python -m etl_lib {command}" in capsys.readouterr().out


def test_no_command_or_a_wrong_one_prints_the_list():
    listed = subprocess.run([sys.executable, "-m", "etl_lib"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert listed.returncode == 2 and all(f"  {c} " in listed.stdout for c in COMMANDS)
    wrong = subprocess.run([sys.executable, "-m", "etl_lib", "brokr"], capture_output=True, text=True, timeout=60,
                           cwd=ROOT)
    assert wrong.returncode == 2 and "no command 'brokr'" in wrong.stderr and "broker" in wrong.stderr


@pytest.mark.parametrize("name", GONE)
def test_the_old_second_homes_are_gone(name):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"etl_lib.{name}")


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return [ROOT / f for f in out.splitlines()
            if f.endswith((".py", ".md", ".ipynb", ".toml", ".yml", ".yaml", "Makefile", ".ci/run"))
            and (ROOT / f).is_file()]


def test_no_file_names_an_old_home_or_an_old_command():
    old_home = re.compile(r"\betl_lib\.(?:" + "|".join(GONE) + r")\b")
    old_command = re.compile(r"-m\"?,? \"?etl_lib\.(?:" + "|".join(["kafka_local", "cluster", "demo", "doctor", "config",
                                                                   "main", "pipelines", "exercises", "commit_log"])
                             + r")\b")
    found = []
    for path in _tracked_text_files():
        if path == Path(__file__):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if old_home.search(line) or old_command.search(line.replace("\\\"", "\"")):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not found, "old names or commands still written:\n" + "\n".join(found[:30])


def test_every_lesson_imports_the_lab_through_its_face_only():
    """A lesson imports the stage it teaches by the seed's module name (``etl_lib.parsing``, ...), the exercises
    package, and everything else of the lab and the foundation through ``etl_lib.lab``, never from their homes."""
    lessons = sorted((ROOT / "notebooks" / "lessons").glob("[0-9][0-9]_*.py"))
    assert lessons
    behind_the_face = re.compile(r"\s*(from|import) etl_lib\.(core|lab\.)")
    for lesson in lessons:
        for line in lesson.read_text(encoding="utf-8").splitlines():
            assert not behind_the_face.match(line), f"{lesson.name}: {line.strip()} (import it from etl_lib.lab)"


def test_the_face_resolves_every_name_it_lists():
    import etl_lib.lab as lab

    for name in lab.__all__:
        assert getattr(lab, name) is not None, name


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback():
    """`python -m etl_lib config | head -1`: the program stops quietly when its reader has gone."""
    proc = subprocess.Popen([sys.executable, "-m", "etl_lib", "config"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.readline()
    proc.stdout.close()  # as head does after its line
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert proc.returncode in (0, 1)
