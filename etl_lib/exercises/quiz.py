"""The question bank (``exercises/questions.md``) and the course's concepts (``docs/concepts.md``): read them,
show questions without their answers, and score a student's answers per concept.

>>> bank = load_bank()
>>> len(bank) >= 100
True
>>> report = score_answers({bank[0].id: bank[0].answer})
>>> report.correct, report.answered
(1, 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.settings import project_root

KINDS = ("recall", "predict", "cross")
LETTERS = "abcdefgh"


@dataclass(frozen=True)
class Concept:
    """One row of docs/concepts.md: where the concept is taught (``lesson``, the cell ``shown`` as ``NN#tag``),
    how many questions ask about it, the requirement that grades it (``exercise · requirement``) and its page."""

    id: str
    name: str
    lesson: str
    shown: str
    questions: int
    graded: str
    page: str


@dataclass(frozen=True)
class Question:
    id: str
    lesson: str
    concept: str
    kind: str
    text: str
    options: tuple[str, ...]
    answer: str  # the right option's letter
    why: str

    def show(self) -> str:
        """The question and its lettered options, without the answer."""
        opts = "\n".join(f"  {LETTERS[i]}) {o}" for i, o in enumerate(self.options))
        return f"{self.id} (lesson {self.lesson}, {self.concept}, {self.kind})\n{self.text}\n{opts}"


def bank_path() -> Path:
    return project_root() / "exercises" / "questions.md"


def concepts_path() -> Path:
    return project_root() / "docs" / "concepts.md"


def load_concepts(path: Path | None = None) -> dict[str, Concept]:
    """The concepts table of docs/concepts.md, by id, in its order."""
    out: dict[str, Concept] = {}
    for line in (path or concepts_path()).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"[a-z][a-z0-9-]*", cells[0]) and cells[0] != "id":
            cid, name, lesson, shown, questions, graded, page = cells
            out[cid] = Concept(cid, name, lesson, shown.strip("[]"), int(questions), graded, page)
    return out


_HEAD = re.compile(r"^## (q\d{3}) · (\d{2}) · ([a-z0-9-]+) · ([a-z]+)\s*$")
_OPTION = re.compile(r"^- \[( |x)\] (.+)$")


def entries(path: Path) -> list[tuple[int, list[str]]]:
    """The ``## `` sections of a bank file: (line number of the heading, the heading and its lines)."""
    blocks: list[tuple[int, list[str]]] = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("## "):
            blocks.append((n, [line]))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def load_bank(path: Path | None = None, concepts: dict[str, Concept] | None = None) -> list[Question]:
    """Every question of the bank; a malformed entry raises ValueError naming its line."""
    path = path or bank_path()
    concepts = concepts if concepts is not None else load_concepts()
    questions: list[Question] = []
    seen: set[str] = set()
    for n, lines in entries(path):
        head = _HEAD.match(lines[0])
        if not head:
            raise ValueError(f"{path.name}:{n}: expected '## qNNN · lesson · concept · kind', got {lines[0]!r}")
        qid, lesson, concept, kind = head.groups()
        problems = []
        if qid in seen:
            problems.append(f"{qid} is used twice")
        if concept not in concepts:
            problems.append(f"unknown concept {concept!r} (see docs/concepts.md)")
        if kind not in KINDS:
            problems.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        text = [x for x in lines[1:] if x and not _OPTION.match(x) and not x.startswith(">")]
        options = [_OPTION.match(x) for x in lines[1:] if _OPTION.match(x)]
        right = [i for i, m in enumerate(options) if m.group(1) == "x"]
        if len(options) < 2 or len(right) != 1:
            problems.append("needs two or more options with exactly one marked [x]")
        why = " ".join(x[1:].strip() for x in lines[1:] if x.startswith(">"))
        if not text or not why:
            problems.append("needs a question and a '> ' explanation")
        if problems:
            raise ValueError(f"{path.name}:{n} ({qid}): " + "; ".join(problems))
        seen.add(qid)
        questions.append(Question(qid, lesson, concept, kind, " ".join(text).strip(),
                                  tuple(m.group(2) for m in options), LETTERS[right[0]], why))
    return questions


@dataclass
class Report:
    """A scored quiz: per concept (answered, correct), and where to reread for what was missed."""

    by_concept: dict[str, tuple[int, int]] = field(default_factory=dict)
    wrong: list[tuple[Question, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    concepts: dict[str, Concept] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(a for a, _ in self.by_concept.values())

    @property
    def correct(self) -> int:
        return sum(c for _, c in self.by_concept.values())

    def missed_concepts(self) -> list[str]:
        return [c for c, (a, k) in self.by_concept.items() if k < a]

    def table(self) -> str:
        if not self.answered and not self.unknown:
            return ("No answers to score yet: write them as {question id: letter} in the quiz cell, "
                    "or pass a JSON file as the answers_file parameter.")
        lines = [f"score: {self.correct} of {self.answered} answered questions right", "",
                 f"{'concept':<26} right  answered"]
        for cid, (a, k) in self.by_concept.items():
            lines.append(f"{cid:<26} {k:>5}  {a:>8}" + ("" if k == a else "   ← reread"))
        if self.missed_concepts():
            lines += ["", "reread:"]
            for cid in self.missed_concepts():
                c = self.concepts[cid]
                lines.append(f"  {cid}: lesson {c.lesson} and docs/{c.page}")
        for q, given in self.wrong:
            lines += ["", f"{q.id}: you answered {given}, the answer is {q.answer}. {q.why}"]
        if self.unknown:
            lines += ["", "not in the bank (check the ids): " + ", ".join(self.unknown)]
        return "\n".join(lines)

    def __repr__(self) -> str:  # a notebook cell shows the table
        return self.table()


def score_answers(answers: dict[str, str], bank: list[Question] | None = None,
                  concepts: dict[str, Concept] | None = None) -> Report:
    """Score ``answers`` ({question id: letter}) per concept, in the concepts' order."""
    concepts = concepts if concepts is not None else load_concepts()
    by_id = {q.id: q for q in (bank if bank is not None else load_bank(concepts=concepts))}
    tally: dict[str, list[int]] = {}
    report = Report(concepts=concepts)
    for qid, given in sorted(answers.items()):
        q = by_id.get(qid)
        if q is None:
            report.unknown.append(qid)
            continue
        given = str(given).strip().lower().rstrip(")")
        right = given == q.answer
        a, k = tally.setdefault(q.concept, [0, 0])
        tally[q.concept] = [a + 1, k + right]
        if not right:
            report.wrong.append((q, given))
    report.by_concept = {c: tuple(tally[c]) for c in concepts if c in tally}
    return report


def show(bank: list[Question], concept: str | None = None, lesson: str | None = None) -> None:
    """Print the questions of a concept or a lesson, without their answers."""
    for q in bank:
        if (concept is None or q.concept == concept) and (lesson is None or q.lesson == lesson):
            print(q.show(), end="\n\n")


def lesson_question_counts(folder: Path | None = None) -> dict[str, int]:
    """How many self-check questions each lesson asks: the numbered questions (``**1. ...``) of its markdown cell
    tagged ``questions`` ("Check yourself"), read from ``notebooks/NN_*.ipynb``, by lesson number."""
    import json

    counts: dict[str, int] = {}
    for path in sorted((folder or project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "markdown" and "questions" in cell.get("metadata", {}).get("tags", []):
                text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                counts[path.name[:2]] = len(re.findall(r"^\*\*\d+\. ", text, flags=re.M))
    return counts
