"""Execute the notebooks: in place to store their outputs, or into a folder with HTML exports.

    .venv/bin/python tools/run_notebooks.py --in-place            # refresh the committed outputs
    .venv/bin/python tools/run_notebooks.py --out build/notebooks  # papermill run + HTML (make notebooks)

A broker is found or started once for the whole run and stopped at the end if
this script started it.  Cell timing metadata is not recorded, so a refresh
changes a notebook only when its outputs change.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def notebooks(selected: list[str]) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in paths if not selected or p.name[:2] in selected]


def execute_in_place(path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def execute_to(path: Path, out: Path) -> Path:
    import papermill as pm
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    target = out / path.name
    pm.execute_notebook(str(path), str(target), cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False)
    html, _ = HTMLExporter().from_notebook_node(nbformat.read(target, as_version=4))
    target.with_suffix(".html").write_text(html)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--in-place", action="store_true", help="store outputs in notebooks/ (for committing)")
    group.add_argument("--out", type=Path, help="execute copies into this folder and export HTML")
    parser.add_argument("only", nargs="*", help="notebook numbers to run (default: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from etl_lib.core.broker import ensure_broker

    t_all = time.monotonic()
    # Each lesson empties and uses topics of its own (<lesson>.bike-trips, ...): this run claims none of the
    # kit's, so a `make demo` beside it may still reset those.
    with ensure_broker(create_kit_topics=False):
        for path in notebooks(args.only):
            t0 = time.monotonic()
            if args.in_place:
                execute_in_place(path)
            else:
                execute_to(path, args.out)
            print(f"{path.name}: {time.monotonic() - t0:.0f} s", flush=True)
    print(f"all notebooks: {time.monotonic() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
