"""``python -m etl_lib lab`` (``make lab``): JupyterLab on the student's own working copy of the notebooks.

The lessons and exercises in ``notebooks/`` and ``exercises/`` are tracked: running them rewrites their outputs,
and a student who studies in them ends with a modified checkout and a ``git pull`` that refuses to update any
notebook the kit changed meanwhile.  So the
student works in ``study/`` (git-ignored): ``study/NN_*.ipynb`` for the lessons and ``study/exercises/NN_*.ipynb``
for the exercises, copied on first use.  A notebook added to the kit later is copied the next time; one the
student has is never overwritten, except with ``--refresh``, which first renames a copy that differs from the
kit's to ``NN_*.mine-<date>-<time>.ipynb`` and says so.

The copies link to each other and to ``docs/`` as the tracked notebooks do (each relative link is rewritten for
the copy's folder), and carry no jupytext pairing: saving a copy writes that copy and nothing else.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..core.cli import run
from ..core.settings import project_root

__all__ = ["STUDY", "copy_plan", "working_copy", "prepare", "lab_command", "main"]

STUDY = "study"
_LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def copy_plan(root: Path, folder: str = STUDY) -> list[tuple[Path, Path]]:
    """(tracked notebook, its working copy under ``root/folder``) for every lesson and exercise notebook."""
    study = root / folder
    lessons = [(p, study / p.name) for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    exercises = [(p, study / "exercises" / p.name) for p in sorted((root / "exercises").glob("[0-9][0-9]_*.ipynb"))]
    return lessons + exercises


def _relink(link: str, source: Path, target: Path, moved: dict[Path, Path]) -> str:
    """``link`` as written in ``source``, rewritten to point from ``target`` at the same thing (or at its copy)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith(("#", "/")):
        return link  # a URL, an anchor in the same notebook, or an absolute path
    path, hash_, anchor = link.partition("#")
    if not path:
        return link
    pointed = Path(os.path.normpath(source.parent / path))
    pointed = moved.get(pointed, pointed)
    return os.path.relpath(pointed, target.parent) + hash_ + anchor


def working_copy(text: str, source: Path, target: Path, moved: dict[Path, Path]) -> str:
    """The working copy of a tracked notebook (its JSON text): pairing metadata removed, relative links of its
    markdown cells rewritten for ``target``'s folder (``moved``: tracked notebook -> its copy)."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _LINK.sub(lambda m: m[1] + _relink(m[2], source, target, moved) + m[3], cell.source)
    return nbformat.writes(nb) + "\n"


def prepare(root: Path | None = None, refresh: bool = False, echo: Callable[[str], None] = print,
            folder: str = STUDY) -> Path:
    """Make ``study/`` (or ``folder``, under the kit's root) up to date and return it: copy what is missing; with
    ``refresh``, also replace every copy that differs from the kit's, keeping the student's version beside it under
    a ``.mine-<date>-<time>`` name."""
    root = root or project_root()
    plan = copy_plan(root, folder)
    moved = {source.resolve(): target.resolve() for source, target in plan}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    made = kept = 0
    for source, target in plan:
        fresh = working_copy(source.read_text(), source.resolve(), target.resolve(), moved)
        if target.exists():
            if not refresh or target.read_text() == fresh:
                continue
            mine = target.with_name(f"{target.stem}.mine-{stamp}.ipynb")
            target.rename(mine)
            echo(f"kept your version of {target.relative_to(root)} as {mine.relative_to(root)}")
            kept += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fresh)
        made += 1
    ignore = root / folder / ".gitignore"
    if not ignore.exists():  # the folder stays out of git even where the kit's own .gitignore is not used
        ignore.write_text("*\n")
    echo(f"{folder}/: {made} notebooks copied from the kit" + (f", {kept} of yours kept beside them" if kept else "")
         + f", {len(plan) - made} already there")
    return root / folder


def lab_command(root: Path, port: int, token: str, folder: str = STUDY) -> list[str]:
    """The JupyterLab command line: the kit's folder as its root (so links to docs/ open), study/ shown first."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}", f"--ServerApp.port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.default_url=/lab/tree/{folder}",
               "--ServerApp.open_browser=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to run as root without it (containers, lab machines)
    return command


@run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib lab", description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true",
                        help="replace copies that differ from the kit's (yours are kept beside them, renamed)")
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    parser.add_argument("--copy-only", action="store_true", help="make study/ up to date, do not start JupyterLab")
    parser.add_argument("--folder", default=STUDY, help=argparse.SUPPRESS)  # the browser test's own copy
    args = parser.parse_args(argv)
    root = project_root()
    folder = Path(args.folder)
    if folder.is_absolute() or ".." in folder.parts:
        parser.error(f"--folder {args.folder!r}: a folder inside the kit, such as study")
    prepare(root, refresh=args.refresh, folder=args.folder)
    if args.copy_only:
        return 0
    from ..core.broker import LocalKafka, default_data_dir
    from ..core.kafka import broker_answers
    from ..core.settings import get_settings

    settings = get_settings()
    if not broker_answers(settings):
        LocalKafka(settings.kafka_bootstrap_servers, default_data_dir(settings)).start(detach=True)
    print(f"Kafka broker answering at {settings.kafka_bootstrap_servers} (`make broker-stop` ends it)")
    startup = settings.data_dir / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-etl-kit.py").write_text(
        "# Written by `python -m etl_lib lab`: a cell run before the setup cell fails with the fix, too.\n"
        "from etl_lib.lab.cell_errors import install\n\ninstall()\n")
    os.environ["IPYTHONDIR"] = str(settings.data_dir / "ipython")  # the kernels JupyterLab starts read it
    token = secrets.token_hex(16)
    print(f"JupyterLab: http://127.0.0.1:{args.port}/lab/tree/{args.folder}?token={token}\n"
          "Open the link in a browser; Ctrl+C here stops JupyterLab.", flush=True)
    os.execv(sys.executable, lab_command(root, args.port, token, args.folder))
    return 0  # pragma: no cover - execv does not return
