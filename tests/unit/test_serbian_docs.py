"""docs/sr/: the bilingual glossary covers every concept and every seed-000 name and term, agrees with
docs/concepts.md and docs/seed_names.md, names things that exist; the Serbian answers page is up to date."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

from etl_lib.core.settings import _FIELDS
from etl_lib.exercises.quiz import load_concepts

ROOT = Path(__file__).resolve().parents[2]
SR = ROOT / "docs" / "sr"

# The terms of seed 000 (the course's own Serbian text), as a student meets them there.
SEED_000_TERMS = ["proizvođač–potrošač", "red (queue)", "nit (thread)", "višenitno", "metrike", "uredno gašenje",
                  "modularnost", "backpressure", "worker", "minibatch", "ponovni pokušaj", "bucket", "orkestrator",
                  "ulazna tačka", "thread-safe", "signal za zaustavljanje", "daemon nit", "vremenski prozor",
                  "lažnih fajlova", "noćni (batch) pipeline", "komandna linija", "real-time i batch",
                  "unos fajlova", "izvor poruka", "streaming pipeline"]


def _rows() -> list[dict[str, str]]:
    rows = []
    for line in (SR / "recnik.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] not in ("srpski", "---"):
            rows.append(dict(zip(["sr", "en", "kit", "concept", "lesson", "page"], cells)))
    return rows


def test_every_concept_has_a_row_with_its_lesson_and_page():
    rows = {r["concept"]: r for r in _rows() if r["concept"]}
    for cid, c in load_concepts().items():
        assert cid in rows, f"docs/sr/recnik.md has no row for concept {cid}"
        assert (rows[cid]["lesson"], rows[cid]["page"]) == (c.lesson, c.page), cid


def test_every_seed_000_name_and_term_has_a_row():
    seed_names = re.findall(r"^\| `(\w+)` \| `(etl_lib\.pipelines\.\w+)` \|",
                            (ROOT / "docs" / "seed_names.md").read_text(), flags=re.M)
    assert len(seed_names) == 12
    kits = {r["kit"].strip("`") for r in _rows()}
    assert {kit for _, kit in seed_names} <= kits
    serbian = " | ".join(r["sr"] for r in _rows())
    assert [t for t in SEED_000_TERMS if t not in serbian] == []


def test_the_kit_names_exist_and_the_text_is_latin_serbian():
    envs = {f.env for f in _FIELDS}
    for r in _rows():
        name = r["kit"].strip("`")
        if name.startswith("etl_lib."):
            try:
                importlib.import_module(name)
            except ImportError:
                module, _, attr = name.rpartition(".")
                assert hasattr(importlib.import_module(module), attr), name
        elif re.fullmatch(r"[A-Z_]+", name):
            assert name in envs, name
        assert r["lesson"] in {f"{n:02d}" for n in range(16)} and (ROOT / "docs" / r["page"]).is_file(), r
    for page in SR.glob("*.md"):
        text = page.read_text()
        assert not re.search(r"[\u0400-\u04FF]", text), f"{page.name}: Cyrillic letters; the kit writes Latin script"
        assert re.search(r"[čćšžđ]", text), page.name
    for link in re.findall(r"\]\(([^)#]+)\)", " ".join(p.read_text() for p in SR.glob("*.md"))):
        assert (SR / link).resolve().exists(), link


def test_the_serbian_answers_page_is_built_from_the_written_questions():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "serbian.py"), "check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout
