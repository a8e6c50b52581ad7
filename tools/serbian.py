"""Write docs/sr/odgovori.md, the written exam questions and model answers in Serbian, from exercises/explain.md.

    python tools/serbian.py build   # rewrite the page
    python tools/serbian.py check   # exit 1 when the page differs from what build would write

One source (exercises/explain.md) for both languages, so the Serbian page cannot drift from the English one.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from etl_lib.exercises.explain import load_explain  # noqa: E402
from etl_lib.exercises.quiz import load_concepts  # noqa: E402

PAGE = ROOT / "docs" / "sr" / "odgovori.md"


def page() -> str:
    concepts = load_concepts()
    lines = [
        "# Pismena pitanja sa uzornim odgovorima",
        "",
        "Za svaki od 35 pojmova kursa i za svaku napomenu „For your exam“ iz seed-a 003 po jedno pitanje kakvo se "
        "postavlja na pismenom ispitu, sa uzornim odgovorom (najviše 150 reči). Prvo napišite svoj odgovor, pa ga "
        "uporedite. U notebook-u 16 (`serbian = True`) provera pokazuje koje ključne tačke vaš tekst pominje; to je "
        "nagoveštaj, ne ocena. Ova strana se pravi iz `exercises/explain.md` (`python tools/serbian.py build`), gde "
        "su i ključne tačke i čest pogrešan odgovor.",
        "",
    ]
    for q in load_explain(concepts=concepts):
        c = concepts[q.concept]
        where = "napomena iz seed-a 003" if q.seed_prompt else f"pojam `{q.concept}`"
        lines += [f"## {q.id} · {where} · lekcija {q.lesson}", "", f"**Pitanje.** {q.question_sr}", "",
                  f"**Odgovor.** {q.serbian}", "",
                  *([f"**Pokazano u.** {q.evidence}", ""] if q.evidence else []),
                  f"Više o tome: notebook {q.lesson}, [{c.page}](../{c.page}).", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[1:] == ["build"]:
        PAGE.parent.mkdir(parents=True, exist_ok=True)
        PAGE.write_text(page())
        print(f"wrote {PAGE.relative_to(ROOT)}")
        return 0
    if argv[1:] == ["check"]:
        if not PAGE.exists() or PAGE.read_text() != page():
            print(f"{PAGE.relative_to(ROOT)} differs from exercises/explain.md: run python tools/serbian.py build")
            return 1
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
