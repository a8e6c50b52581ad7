"""Written exam questions (``exercises/explain.md``): read them, and check a written answer against the key points.

The check is term matching, and says so: it lists the key points whose terms (English or Serbian) appear in the
answer, and the ones that do not, as a hint of what may be missing.  It never gives a grade: a point named with
other words is still a point, and a list of terms is not an explanation.

>>> bank = load_explain()
>>> len(bank) >= 40
True
>>> q = by_id(bank)["x22"]
>>> hits = q.named("The newest event time minus a delay; late events may be dropped.")
>>> [p.point for p in hits]
['newest event time minus a delay', 'events older than it are late and may be dropped']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..core.settings import project_root
from .quiz import Concept, entries, load_concepts

__all__ = ["KeyPoint", "Explain", "load_explain", "by_id", "normalize", "check_answer", "check_answers",
           "explain_path"]


def explain_path() -> Path:
    return project_root() / "exercises" / "explain.md"


def normalize(text: str) -> str:
    """Lower case, Serbian letters without diacritics (č ć → c, š → s, ž → z, đ → dj), spaces squeezed.

    >>> normalize("Ograničen  RED, ključ, Đak")
    'ogranicen red, kljuc, djak'
    """
    text = text.lower().replace("đ", "dj")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class KeyPoint:
    """One thing an examiner looks for, and the terms (either language) any of which counts as naming it."""

    point: str
    terms: tuple[str, ...]

    def named_in(self, answer: str) -> bool:
        text = normalize(answer)
        return any(normalize(t) in text for t in self.terms)


@dataclass(frozen=True)
class Explain:
    id: str
    lesson: str
    concept: str
    seed_prompt: bool  # one of seed 003's "For your exam" prompts
    question: str
    model: str
    points: tuple[KeyPoint, ...]
    wrong: str
    question_sr: str
    serbian: str
    # Where the model answer's claims are shown: lesson cells (``[06#watermark-moves]``) or documents with their
    # version (``[doc: Spark 4.2 · ...]``); tests/unit/test_evidence.py resolves every one.
    evidence: str = ""

    def named(self, answer: str) -> list[KeyPoint]:
        return [p for p in self.points if p.named_in(answer)]

    def words(self) -> int:
        return len(self.model.split())


_HEAD = re.compile(r"^## (x\d{2}) · (\d{2}) · ([a-z0-9-]+)( · seed 003)?\s*$")
_SECTIONS = {"**Model answer.**": "model", "**Shown in.**": "evidence", "**Key points**": "points",
             "**Common wrong answer.**": "wrong", "**Pitanje.**": "question_sr", "**Odgovor.**": "serbian"}


def load_explain(path: Path | None = None, concepts: dict[str, Concept] | None = None) -> list[Explain]:
    """Every written question; a malformed entry raises ValueError naming its line and what is wrong."""
    path = path or explain_path()
    concepts = concepts if concepts is not None else load_concepts()
    out: list[Explain] = []
    for n, lines in entries(path):
        head = _HEAD.match(lines[0])
        if not head:
            raise ValueError(f"{path.name}:{n}: expected '## xNN · lesson · concept', got {lines[0]!r}")
        parts: dict[str, list[str]] = {"question": []}
        current = "question"
        for line in lines[1:]:
            key = next((k for k in _SECTIONS if line.startswith(k)), None)
            if key:
                current = _SECTIONS[key]
                line = line[len(key):]
            parts.setdefault(current, []).append(line)
        points = []
        for line in parts.get("points", []):
            if line.startswith("- "):
                point, _, terms = line[2:].partition(" — ")
                points.append(KeyPoint(point.strip(), tuple(t.strip() for t in terms.split(";") if t.strip())))
        text = {k: " ".join(x.strip() for x in v if x.strip()) for k, v in parts.items() if k != "points"}
        problems = [f"no {name}" for name in ("question", "model", "wrong", "question_sr", "serbian")
                    if not text.get(name)]
        if head.group(3) not in concepts:
            problems.append(f"unknown concept {head.group(3)!r}")
        if not 3 <= len(points) <= 5 or any(not p.terms for p in points):
            problems.append("needs 3 to 5 key points, each with terms after ' — '")
        if len(text.get("model", "").split()) > 150:
            problems.append("the model answer is over 150 words")
        if problems:
            raise ValueError(f"{path.name}:{n} ({head.group(1)}): " + "; ".join(problems))
        out.append(Explain(head.group(1), head.group(2), head.group(3), bool(head.group(4)), text["question"],
                           text["model"], tuple(points), text["wrong"], text["question_sr"], text["serbian"],
                           text.get("evidence", "")))
    ids = [q.id for q in out]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path.name}: an id is used twice")
    return out


def by_id(bank: list[Explain]) -> dict[str, Explain]:
    return {q.id: q for q in bank}


def check_answer(q: Explain, answer: str, serbian: bool = False) -> str:
    """The model answer and the key points the written ``answer`` names (✓) or does not (·), as text."""
    if not answer.strip():
        return f"{q.id}: no answer written yet. Write one first; then this check shows the model answer."
    hits = q.named(answer)
    lines = [f"{q.id} · {q.question_sr if serbian else q.question}", "",
             f"your answer names {len(hits)} of the {len(q.points)} key points an examiner looks for "
             "(by the terms used: a hint, not a grade):"]
    lines += [f"  {'✓' if p in hits else '·'} {p.point}" for p in q.points]
    lines += ["", "model answer: " + (q.serbian if serbian else q.model), "", "often answered, and wrong: " + q.wrong]
    return "\n".join(lines)


def check_answers(answers: dict[str, str], bank: list[Explain] | None = None, serbian: bool = False) -> str:
    """:func:`check_answer` for each written answer ({question id: text}); ids not in the bank are named."""
    index = by_id(bank if bank is not None else load_explain())
    if not any(a.strip() for a in answers.values()):
        return ("No written answers yet: write them as {question id: your text} in the written answers cell, or pass a JSON "
                "file as the explain_file parameter.")
    parts = [check_answer(index[qid], text, serbian) for qid, text in sorted(answers.items()) if qid in index]
    unknown = sorted(set(answers) - set(index))
    if unknown:
        parts.append("not in exercises/explain.md (check the ids): " + ", ".join(unknown))
    return "\n\n".join(parts)
