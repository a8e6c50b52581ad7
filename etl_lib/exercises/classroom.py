"""Grading a whole class: ``python -m etl_lib exercises grade-class SUBMISSIONS/``.

``SUBMISSIONS/`` holds one entry per student: a folder of exercise notebooks
(``07_parquet_and_checkpoints.ipynb``, ...) or a single notebook; the folder's
or notebook's name is the student id.  Each student's code runs in ``python
-m etl_lib exercises observe``, in a process (and process session) of their
own, which runs every hidden case's observing half and sends what the code
did, as plain data, through a pipe this process reads; this process builds
the same cases and judges every one (:class:`~etl_lib.exercises.grader.Verdicts`).
Nothing the student's process sends is taken as a grade: a pass comes only
from a judge here accepting what the code did.  Each student has

- their own ``DATA_DIR`` (``OUT/work/<student>``) and their own Kafka: in the
  sandbox, a broker of their own, which their grader starts in their work
  folder on first need, in a network namespace that reaches no other broker
  (see :mod:`etl_lib.exercises.sandbox`); with ``--no-sandbox``, their own
  topics (``exercise.<student>.*``) on the one broker of
  ``KAFKA_BOOTSTRAP_SERVERS``, which is started once before the first student
  if no broker answers, and then stopped when the class is graded (also on
  Ctrl+C or an error; a broker that was already running is left alone);
- a wall-time limit and a memory limit (the resident memory of every process
  of that session: the grader's Python and its Spark JVM together); a student
  over either is stopped, as a whole session;
- their own variant of the hidden cases (``--student``), unless ``--same-cases``;
- a sandbox (bubblewrap, :mod:`etl_lib.exercises.sandbox`): the kit read-only without its solutions, only
  their own submission and work folder, a cleared environment, a PID namespace that ends every process they
  started (their broker included), a network namespace of their own, and the kernel's memory and process
  limits where the machine allows them.  Without bubblewrap
  grade-class refuses, unless ``--no-sandbox``, which marks every row unsandboxed.

The observing process sends each case's observation as it is known, so a
student whose code loops, exits, crashes the interpreter or eats the memory
keeps what was observed before, and gets a row that says what happened and
where.  The class is never stopped by one student.  At the end:
``gradebook.csv`` (one row per student: the outcome, each exercise's status,
each concept's passed/total, a note), ``gradebook.html`` (the same at a
glance, with pass rates per exercise and concept) and ``logs/<student>.txt``
(what the student would see from ``make grade``: their score table and hints), and ``reports/<student>.jsonl``
(the events their process sent, as they came: what the judging was done on).
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.settings import Settings
from ..core.variants import student_slug
from .grader import EXERCISES, Context, Verdicts, _notebook_lesson, score_table, submitted_notebooks
from .sandbox import DEFAULT_MAX_PROCESSES, Sandbox, Unconfined, find_sandbox

__all__ = ["Submission", "StudentRow", "find_submissions", "grade_submission", "grade_class", "write_gradebook",
           "write_html", "grade_class_main"]

OUTCOMES = {
    "graded": "graded",
    "timeout": "stopped: time limit",
    "memory": "stopped: memory limit",
    "crashed": "grading process crashed",
    "empty": "no exercise notebook",
}


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path

    def expected(self) -> list[str]:
        """The exercises this submission must answer: those of the lessons its notebooks are named after."""
        lessons = {_notebook_lesson(nb) for nb in submitted_notebooks(self.path)}
        return [name for name, ex in EXERCISES.items() if ex.lesson in lessons]


@dataclass
class StudentRow:
    """One student's line of the gradebook."""

    student: str
    outcome: str  # a key of OUTCOMES
    seconds: float = 0.0
    peak_mb: float = 0.0
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # exercise -> its Result as a dict
    notes: list[str] = field(default_factory=list)
    log: str = ""
    sandbox: str = "none"  # "bubblewrap", or "none" when graded with --no-sandbox

    def status(self, exercise: str) -> str:
        r = self.results.get(exercise)
        return r["status"] if r else "missing"

    def passed(self) -> int:
        return sum(r["status"] == "pass" for r in self.results.values())


def find_submissions(folder: Path) -> tuple[list[Submission], list[str]]:
    """The students' submissions in ``folder`` (sorted by id), and the entries that are not one, with why."""
    subs, skipped = [], []
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() or entry.suffix == ".ipynb":
            subs.append(Submission(entry.stem if entry.is_file() else entry.name, entry))
        else:
            skipped.append(f"{entry.name}: neither a folder nor a .ipynb notebook, not graded")
    slugs: dict[str, str] = {}
    for s in subs:
        other = slugs.setdefault(student_slug(s.student), s.student)
        if other != s.student:
            raise ValueError(f"submissions {other!r} and {s.student!r} would share the folder and topic name "
                             f"{student_slug(s.student)!r}; rename one of them")
    return subs, skipped


# ----------------------------------------------------------------------------- one student
MAX_CHANNEL_BYTES = 256 * 2**20  # what one student's grading may send in all; the rest is not read


class Channel:
    """The read end of the pipe a student's grading process writes its events to (one JSON line each), read
    without blocking while it runs and once more after it ended, each event kept and appended to ``report`` as
    it comes (a file outside the sandbox, to look at or follow).  Lines too long, beyond
    :data:`MAX_CHANNEL_BYTES` in all, or not JSON are dropped: the judge decides from what is left."""

    def __init__(self, report: Path) -> None:
        self.report = open(report, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.events: list[Any] = []
        self.dropped = 0
        self._partial = b""
        self._skipping = False  # inside a line that is too long
        self._bytes = 0

    def started(self) -> None:
        """The child holds the write end now: close ours, so the pipe ends when the child's copies do."""
        os.close(self.write_fd)
        self.write_fd = -1

    def drain(self) -> None:
        from .grader import MAX_OBSERVATION

        limit = MAX_OBSERVATION + 4096  # an observation and its event's other fields
        while self._bytes < MAX_CHANNEL_BYTES:
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                return
            self._bytes += len(chunk)
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for line in lines:
                if self._skipping:
                    self._skipping = False
                    self.dropped += 1
                    continue
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    self.dropped += 1
                    continue
                self.report.write(json.dumps(self.events[-1], ensure_ascii=False) + "\n")
            self.report.flush()
            if len(self._partial) > limit:
                self._partial, self._skipping = b"", True

    def close(self) -> None:
        self.report.close()
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                os.close(fd)
        self.read_fd = self.write_fd = -1


def _where(last: dict[str, Any]) -> str:
    """What the grading process was doing at its last event: the exercise it was observing, or the cells it ran."""
    if last.get("event") in ("start", "observed"):
        return f"while grading {last['exercise']} ({last['notebook']})"
    if last.get("event") == "load":
        return f"while running the exercise cells of {last['notebook']}"
    if last.get("event") in ("observed-all", "unanswered"):
        return f"after {last['exercise']}"
    return "before it reached the first notebook"


def _last_words(path: Path, lines: int = 3) -> str:
    """What a crashed grading process said last: Python's fatal error and the student's line from the
    faulthandler's stack when there is one, else its last lines."""
    try:
        text = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    fatal = [ln for ln in text if ln.startswith("Fatal Python error")]
    own = [ln for ln in text if "<exercise " in ln]
    return " | ".join(fatal[:1] + own[:1] if fatal else text[-lines:])[-400:]


def grade_submission(sub: Submission, out: Path, settings: Settings, *, timeout: float, memory_mb: int,
                     same_cases: bool = False, poll: float = 0.25,
                     halt: threading.Event | None = None, sandbox: Sandbox | None = None) -> StudentRow:
    """Grade one student in a child process with their own DATA_DIR; stop it at ``timeout`` s or ``memory_mb``.

    ``halt``: set when the whole class is interrupted (Ctrl+C); the student's session is stopped at once.
    ``sandbox``: where the child runs (:func:`~etl_lib.exercises.sandbox.find_sandbox`); None: unsandboxed.
    """
    runner = sandbox or Unconfined()
    out = Path(out).resolve()  # the sandbox binds the student's folders at the paths the grader is given
    slug = student_slug(sub.student)
    work, report, log = out / "work" / slug, out / "reports" / f"{slug}.jsonl", out / "logs" / f"{slug}.txt"
    for folder in (work, report.parent, log.parent):
        folder.mkdir(parents=True, exist_ok=True)
    row = StudentRow(sub.student, "graded", log=str(log.relative_to(out)), sandbox=runner.name)
    if not submitted_notebooks(sub.path):
        row.outcome = "empty"
        row.notes.append(f"{sub.path.name} holds no NN_*.ipynb exercise notebook")
        log.write_text(row.notes[-1] + "\n", encoding="utf-8")
        return row
    env = {**os.environ, "DATA_DIR": str(work.resolve()), "SPARK_UI_ENABLED": "false", "PYTHONUNBUFFERED": "1",
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers}
    for key in ("OUTPUT_BASE_PATH", "CHECKPOINT_BASE_PATH", "QUARANTINE_PATH", "SILVER_PATH",
                "ANALYTICS_OUTPUT_PATH", "ANALYTICS_CHECKPOINT_PATH"):
        env.pop(key, None)  # under the student's DATA_DIR, never a path shared with another student
    student = "" if same_cases else sub.student
    channel = Channel(report)
    # The student's process observes; this one judges.  -X faulthandler: code that crashes the interpreter
    # leaves its Python stack in the log.
    cmd = [sys.executable, "-X", "faulthandler", "-m", "etl_lib", "exercises", "observe", str(sub.path.resolve()),
           "--channel", str(channel.write_fd)]
    if student:
        cmd += ["--student", student]
    t0 = time.monotonic()
    stopped = None
    try:
        with open(log, "wb") as log_file:
            run = runner.start(cmd, env=env, work=work, channel=channel.write_fd, submission=sub.path, name=slug,
                               stdout=log_file)
            channel.started()
            try:
                while run.proc.poll() is None:
                    channel.drain()
                    rss = run.rss_mb()
                    row.peak_mb = max(row.peak_mb, rss)
                    if time.monotonic() - t0 > timeout:
                        stopped = "timeout"
                    # With the kernel's limit, the kernel decides (resident memory counts shared pages once per
                    # process, so a few hundred forks of one grader would look far bigger than they are).
                    elif run.out_of_memory() or (not runner.kernel_memory and rss > memory_mb):
                        stopped = "memory"
                    elif halt is not None and halt.is_set():
                        stopped = "halted"
                    if stopped:
                        break
                    time.sleep(poll)
                if stopped is None and run.out_of_memory():
                    stopped = "memory"  # the kernel killed the grading process itself
                kernel_peak = run.group.peak_mb() if run.group is not None else 0.0
                refused_forks = run.group.refused_forks() if run.group is not None else 0
            finally:
                # The whole grading: a stopped grader, or what one left running (a Spark JVM after the Python
                # exited, a double-forked child of the student's code).
                run.stop()
        channel.drain()  # what it wrote before it ended
    finally:
        channel.close()
    row.seconds = round(time.monotonic() - t0, 1)
    if kernel_peak:  # what the kernel charged: shared pages once (a fork counts only what it changes), page cache in
        row.peak_mb = kernel_peak
    # A sandboxed student's topics lived on its own broker, which ended with its sandbox: nothing to tidy.
    on_class_broker = not isinstance(runner, Sandbox)
    if stopped == "halted":
        if on_class_broker:
            _delete_topics(settings, f"exercise.{slug}.")
        return row  # the class was interrupted: no row is written
    # Judged here, from what the student's process said its code did: nothing it sent is taken as a grade.
    verdicts = Verdicts(Context(settings, student=student))
    done = False
    for event in channel.events:
        verdicts.hear(event)
        done = done or (isinstance(event, dict) and event.get("event") == "done")
    for result in verdicts.results:
        row.results[result.name] = {k: getattr(result, k) for k in ("status", "passed", "total", "failure",
                                                                     "notebook", "failed_requirement")}
    row.notes += [text for _, text in verdicts.problems[:20]]
    if channel.dropped:
        row.notes.append(f"{channel.dropped} line(s) its grading process sent were not events and were ignored")
    where = _where(verdicts.last)
    if stopped == "timeout":
        row.outcome = "timeout"
        row.notes.append(f"stopped after {timeout:.0f} s {where}: an endless loop, or a wait that never "
                         "ends? The exercises graded before it keep their result.")
    elif stopped == "memory" and runner.kernel_memory:
        row.outcome = "memory"
        row.notes.append(f"stopped {where}: its processes reached the {memory_mb:,} MB limit, and the "
                         "kernel ended one of them. The exercises graded before it keep their result.")
    elif stopped == "memory":
        row.outcome = "memory"
        row.notes.append(f"stopped {where}: its processes held {row.peak_mb:,.0f} MB, over the "
                         f"{memory_mb:,} MB limit. The exercises graded before it keep their result.")
    elif not done:
        row.outcome = "crashed"
        code = run.returncode()
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        said = _last_words(log)
        row.notes.append(f"the grading process ended with {how} {where}, before it finished"
                         + (f"; it said: {said}" if said else ""))
    if refused_forks:
        row.notes.append(f"it tried to run more than {sandbox.max_processes:,} processes and threads at once; the "
                         f"kernel refused {refused_forks:,} of them")
    missing = "no result: its grading process never finished observing it"
    for name in sub.expected():  # every exercise the notebooks' names ask for has a result, whatever was sent
        row.results.setdefault(name, {"status": row.outcome if row.outcome != "graded" else "error", "passed": 0,
                                      "total": 0, "failure": row.notes[-1] if row.outcome != "graded" else missing,
                                      "notebook": "", "failed_requirement": None})
    with open(log, "a", encoding="utf-8") as f:  # what the student sees from make grade: the table and hints
        f.write("\n" + score_table(verdicts.results) + "\n")
    if row.outcome != "graded":
        if on_class_broker:  # a stopped grader could not delete its case topics
            _delete_topics(settings, f"exercise.{slug}.")
    else:
        shutil.rmtree(work, ignore_errors=True)  # kept only where something went wrong, to look at
    return row


def _delete_topics(settings: Settings, prefix: str) -> None:
    try:
        from ..core.kafka import _admin

        admin = _admin(settings, request_timeout_ms=10000)
        try:
            left = [t for t in admin.list_topics() if t.startswith(prefix)]
            if left:
                admin.delete_topics(left)
        finally:
            admin.close()
    except Exception:  # noqa: BLE001 - no broker was ever needed, or it is gone: nothing to tidy
        pass


# ----------------------------------------------------------------------------- the class
def grade_class(subs: list[Submission], out: Path, settings: Settings, *, timeout: float, memory_mb: int,
                jobs: int = 1, same_cases: bool = False, sandbox: Sandbox | None = None,
                echo: Callable[[str], None] = print) -> list[StudentRow]:
    """Grade every submission (``jobs`` at a time, each in ``sandbox``; None: unsandboxed); print one line per
    student as they finish.

    On Ctrl+C (or any error here) the students being graded are stopped and the rest are not started, so
    that the caller can stop the broker with no grader still on it.
    """
    out.mkdir(parents=True, exist_ok=True)
    halt = threading.Event()

    def one(sub: Submission) -> StudentRow:
        row = grade_submission(sub, out, settings, timeout=timeout, memory_mb=memory_mb, same_cases=same_cases,
                               halt=halt, sandbox=sandbox)
        if halt.is_set():
            return row
        total = len(set(sub.expected()) | set(row.results))
        echo(f"  {row.student:<24} {OUTCOMES[row.outcome]:<26} {row.passed():>2}/{total:<2} pass "
             f"{row.seconds:6.1f} s  peak {row.peak_mb:,.0f} MB")
        return row

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        return list(pool.map(one, subs))
    except BaseException:
        halt.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def exercise_columns(rows: Iterable[StudentRow], subs: Iterable[Submission]) -> list[str]:
    """Every exercise some student had to answer or answered, in the kit's order."""
    wanted = {name for s in subs for name in s.expected()} | {name for r in rows for name in r.results}
    return [name for name in EXERCISES if name in wanted]


def concept_columns(exercises: list[str]) -> dict[str, list[str]]:
    """concept -> the exercises (of ``exercises``) that practise it, concepts in first-seen order."""
    out: dict[str, list[str]] = {}
    for name in exercises:
        for concept in EXERCISES[name].concepts:
            out.setdefault(concept, []).append(name)
    return out


def write_gradebook(rows: list[StudentRow], exercises: list[str], path: Path) -> Path:
    """``gradebook.csv``: student, outcome, passed, of, seconds, peak MB, one column per exercise (its status),
    one per concept (``concept:<id>``, passed/total of its exercises), the sandbox it ran in (``none``:
    graded unsandboxed, with ``--no-sandbox``), note."""
    concepts = concept_columns(exercises)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "outcome", "passed", "of", "seconds", "peak_memory_mb", *exercises,
                    *(f"concept:{c}" for c in concepts), "sandbox", "note"])
        for r in rows:
            w.writerow([r.student, r.outcome, sum(r.status(e) == "pass" for e in exercises), len(exercises),
                        r.seconds, round(r.peak_mb), *(r.status(e) for e in exercises),
                        *(f"{sum(r.status(e) == 'pass' for e in ex)}/{len(ex)}" for ex in concepts.values()),
                        r.sandbox, " / ".join(r.notes)])
    return path


_COLOURS = {"pass": "#c8e6c9", "fail": "#ffcdd2", "error": "#ffcdd2", "blank": "#eeeeee", "missing": "#eeeeee",
            "timeout": "#ffe0b2", "memory": "#ffe0b2", "crashed": "#ffe0b2"}


def write_html(rows: list[StudentRow], exercises: list[str], path: Path, title: str) -> Path:
    """One page: a row per student (each exercise's status as a coloured cell, its hint on hover), pass rates."""
    e = html.escape
    concepts = concept_columns(exercises)
    head = "".join(f"<th title='{e(EXERCISES[x].title)}'>{e(x)}<br><small>{EXERCISES[x].lesson}</small></th>"
                   for x in exercises)
    body = []
    for r in rows:
        cells = []
        for x in exercises:
            res = r.results.get(x) or {}
            status = r.status(x)
            checks = f" {res['passed']}/{res['total']}" if res.get("total") else ""
            tip = e(res.get("failure") or "")
            cells.append(f"<td style='background:{_COLOURS.get(status, '#fff')}' title='{tip}'>{e(status)}{checks}</td>")
        passed = sum(r.status(x) == "pass" for x in exercises)
        boxed = (f"<td>{e(r.sandbox)}</td>" if r.sandbox != "none"
                 else "<td style='background:#ffcdd2'>unsandboxed</td>")
        body.append(f"<tr><th><a href='{e(r.log)}'>{e(r.student)}</a></th><td>{e(OUTCOMES[r.outcome])}</td>"
                    f"<td>{passed}/{len(exercises)}</td>{''.join(cells)}<td>{r.seconds:.0f} s</td>{boxed}"
                    f"<td class='note'>{e(' / '.join(r.notes))}</td></tr>")
    n = max(1, len(rows))
    rates = "".join(f"<td>{100 * sum(r.status(x) == 'pass' for r in rows) / n:.0f} %</td>" for x in exercises)
    concept_rows = "".join(
        f"<tr><th>{e(c)}</th><td>{', '.join(e(x) for x in ex)}</td>"
        f"<td>{100 * sum(r.status(x) == 'pass' for r in rows for x in ex) / (n * len(ex)):.0f} %</td></tr>"
        for c, ex in concepts.items())
    bad = sum(r.outcome != "graded" for r in rows)
    loose = sum(r.sandbox == "none" for r in rows)
    warning = (f"<p style='background:#ffcdd2;padding:6px'><b>{loose} of {len(rows)} students graded unsandboxed "
               "(--no-sandbox)</b>: their code ran as the instructor, could read the solutions, the other "
               "submissions and the instructor's environment, and could leave processes behind.</p>"
               if loose else "")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:1.5em}} table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #bbb;padding:3px 6px;text-align:center}} th small{{color:#666}}
td.note{{text-align:left;max-width:40em;font-size:12px}}</style></head><body>
<h1>{e(title)}</h1>{warning}
<p>{len(rows)} students, {len(exercises)} exercises; {bad} grading run(s) stopped or crashed (their row says why;
exercises graded before that keep their result). Hover a cell for the smallest failing case and its hint; a
student's name opens what the grader printed for them.</p>
<table><tr><th>student</th><th>outcome</th><th>passed</th>{head}<th>time</th><th>sandbox</th><th>note</th></tr>
{''.join(body)}
<tr><th colspan="3">pass rate</th>{rates}<td></td><td></td><td></td></tr></table>
<h2>Per concept</h2>
<table><tr><th>concept</th><th>exercises</th><th>pass rate</th></tr>{concept_rows}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
        return True
    except (OSError, ValueError):
        return False


def grade_class_main(args: Any) -> int:
    """The ``grade-class`` command: find the submissions, grade them, write the book.

    In the sandbox each student's grader starts a broker of its own, inside it, so none is needed here.  With
    ``--no-sandbox`` the students share the broker of ``KAFKA_BOOTSTRAP_SERVERS``: one that answers, or one
    started here and stopped before this returns (also on Ctrl+C or an error).  Without a working sandbox it
    refuses (exit code 2) before anything starts, unless ``--no-sandbox``.
    """
    from ..core.broker import ensure_broker
    from ..core.cli import fail, settings_or_exit
    from ..core.errors import KitError

    folder: Path = args.submissions
    if not folder.is_dir():
        print(f"Error: {folder} is not a folder. grade-class wants a folder holding one folder or one notebook "
              "per student (the name is the student id).", file=sys.stderr)
        return 2
    if args.timeout <= 0 or args.memory_mb <= 0 or args.jobs <= 0 or (getattr(args, "max_processes", None) or 1) <= 0:
        print("Error: --timeout, --memory-mb, --jobs and --max-processes must be greater than 0.", file=sys.stderr)
        return 2
    try:
        subs, skipped = find_submissions(folder)
    except ValueError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    for s in skipped:
        print(f"skipped {s}")
    if not subs:
        print(f"Error: {folder} holds no submission (a folder or a .ipynb notebook per student).", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    out = (args.out or settings.data_dir / "gradebook" / folder.resolve().name).resolve()
    sandbox: Sandbox | Unconfined = Unconfined()
    if not getattr(args, "no_sandbox", False):
        try:
            sandbox = find_sandbox(settings, memory_mb=args.memory_mb,
                                   max_processes=getattr(args, "max_processes", None) or DEFAULT_MAX_PROCESSES)
        except KitError as err:
            return fail(err)
    needs_broker = any(EXERCISES[x].needs != "python" for s in subs for x in s.expected()) or any(
        not _notebook_lesson(nb) and _is_json(nb) for s in subs for nb in submitted_notebooks(s.path))
    broker = None
    if needs_broker and isinstance(sandbox, Sandbox):
        # No broker outside: no sandbox could reach it.
        print("Kafka: each student's own broker, started by their grader inside their sandbox when a case needs "
              "it (their network reaches no other)")
    elif needs_broker:
        print(f"Kafka: {settings.kafka_bootstrap_servers} (one broker for the whole class)")
        try:
            # Started here, once, if none answers: never by a student's process (the graders are this run's
            # children, so they share it without blocking it).
            broker = ensure_broker(settings, create_kit_topics=False)
        except KitError as err:
            return fail(err)
        if broker.owned:
            print("      started for this class; stopped when it is graded")
    try:
        return _grade_and_write(args, subs, folder, out, settings, sandbox)
    except KeyboardInterrupt:
        print("Interrupted: the students being graded were stopped; no gradebook written.", file=sys.stderr)
        return 130
    finally:
        if broker is not None:
            broker.stop()


def _grade_and_write(args: Any, subs: list[Submission], folder: Path, out: Path, settings: Settings,
                     sandbox: "Sandbox | Unconfined") -> int:
    """Grade the class and write the gradebook (the part of ``grade-class`` that runs on the broker)."""
    for line in sandbox.describe(args.memory_mb):
        print(line)
    if not Path("/proc/self/stat").exists():
        print(f"Note: this system has no /proc, so the {args.memory_mb:,} MB memory limit cannot be watched; "
              "the time limit still holds.")
    print(f"Grading {len(subs)} submissions from {folder} ({args.jobs} at a time; each at most {args.timeout:.0f} s "
          f"and {args.memory_mb:,} MB; {'the same cases for all' if args.same_cases else 'each their own variant'})")
    t0 = time.monotonic()
    rows = grade_class(subs, out, settings, timeout=args.timeout, memory_mb=args.memory_mb, jobs=args.jobs,
                       same_cases=args.same_cases, sandbox=sandbox if isinstance(sandbox, Sandbox) else None)
    wall = time.monotonic() - t0
    exercises = exercise_columns(rows, subs)
    csv_path = write_gradebook(rows, exercises, out / "gradebook.csv")
    html_path = write_html(rows, exercises, out / "gradebook.html", f"Gradebook: {folder.resolve().name}")
    print(f"{len(rows)} submissions in {wall:.0f} s ({wall / len(rows):.1f} s each on average)")
    print(f"Gradebook: {csv_path}\nSummary:   {html_path}\nPer-student output: {out / 'logs'}")
    return 0
