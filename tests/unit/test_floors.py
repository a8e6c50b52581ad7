"""The house has floors: a module imports only its own floor and the ones below (lazy imports in functions too).

Floor 0 is the foundation (``etl_lib.core``, and ``etl_lib.config``, the seed's name for its settings),
floor 1 holds two siblings that do not import each other (``data_gen`` and the
Spark and thread stages of ``etl_lib``), floor 2 the lab (notebook helpers,
demo, doctor, live charts, exercises).  An import that runs back up, or across
between the siblings, is a package loop waiting to happen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (floor, side): side tells the floor-1 siblings apart; "" imports neither sibling's name.
FOUNDATION = (0, "")
STAGES = (1, "etl_lib")
DATA_GEN = (1, "data_gen")
LAB = (2, "")

# Packages and modules whose floor is not that of a stage of etl_lib.
_PLACES = {
    "etl_lib.core": FOUNDATION,
    "etl_lib.config": FOUNDATION,
    "etl_lib.lab": LAB,
    "etl_lib.exercises": LAB,
    "etl_lib.__main__": LAB,  # the command line: it runs commands of every floor
    "data_gen": DATA_GEN,
}


def place(module: str) -> tuple[int, str]:
    """The floor of ``module``: the longest prefix in the table above, else a stage of etl_lib."""
    if module == "etl_lib":
        return FOUNDATION  # the package's exports are resolved lazily by name, not imported
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in _PLACES:
            return _PLACES[".".join(parts[:n])]
    if parts[0] == "etl_lib":
        return STAGES
    raise AssertionError(f"{module} is in no package of the kit")


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("etl_lib", "data_gen"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path) -> set[str]:
    """Every kit module ``module`` imports, at the top or inside a function, as absolute names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" for a in node.names] if node.module is None else [target]
            else:
                names = [node.module or ""]
            out.update(n for n in names if n.split(".")[0] in ("etl_lib", "data_gen"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] in ("etl_lib", "data_gen"))
    return out - {module}


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up_or_across(module):
    floor, side = place(module)
    wrong = []
    for target in sorted(imports_of(module, MODULES[module])):
        t_floor, t_side = place(target)
        if t_floor > floor or (t_floor == floor == 1 and t_side != side):
            wrong.append(f"{target} (floor {t_floor} {t_side})".strip())
    assert not wrong, f"{module} (floor {floor} {side}) imports above or across: {wrong}"


def test_the_checker_sees_lazy_relative_and_absolute_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from .core import jvm\n\ndef f():\n    from data_gen.replay import start_replay\n"
                   "    import etl_lib.lab.live\n    from ..summaries import x\n")
    assert imports_of("etl_lib.pkg.m", src) == {"etl_lib.pkg.core", "data_gen.replay", "etl_lib.lab.live",
                                                "etl_lib.summaries"}
    # a foundation module reaching the lab, and a stage reaching data_gen, are both caught
    assert place("etl_lib.lab.live")[0] > place("etl_lib.core.kafka")[0]
    assert place("data_gen.replay") != place("etl_lib.main") and place("data_gen.replay")[0] == 1
    assert place("etl_lib.config") == FOUNDATION and place("etl_lib.exercises.grader") == LAB
