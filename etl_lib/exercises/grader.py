"""The grading machinery: exercises, their cases, the shared broker and Spark session, and the reports."""

from __future__ import annotations

import inspect
import linecache
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BLANK_MARKER = "write your code here"


class Mismatch(AssertionError):
    """A case's result differs from what it should be; the message says how, never what the code should be."""


@dataclass(frozen=True)
class Case:
    """One hidden case: ``shown`` is the input as the student sees it, ``size`` orders cases (smallest first),
    ``requirement`` the id of the stated requirement it checks (see :attr:`Exercise.requirements`)."""

    shown: str
    run: Callable[[Any], None]  # raises Mismatch (or anything) when the student's code fails the case
    hint: str
    size: int = 0
    requirement: str = ""


@dataclass(frozen=True)
class Exercise:
    name: str
    lesson: str
    title: str
    concepts: tuple[str, ...]
    needs: str  # "python", "kafka" or "spark" (spark exercises may use the broker too)
    cases: Callable[["Context"], list[Case]]
    # What the exercise text asks, by id: the words of the text that state it.  Every requirement has a case, and
    # wrong solutions kept in exercises/mutants/ prove each one is checked (tests/unit/test_grader_mutants.py).
    requirements: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    """What :func:`check` found: ``status`` is "pass", "fail", "blank" (not written yet) or "error"."""

    name: str
    status: str
    passed: int = 0
    total: int = 0
    failure: str | None = None  # the smallest failing case, its problem and hint, as printed
    notebook: str = ""
    failed_requirement: str | None = None  # the requirement of the smallest failing case

    def line(self) -> str:
        if self.status == "pass":
            return f"✓ {self.name}: all {self.total} checks passed"
        if self.status == "blank":
            return f"· {self.name}: not written yet (the exercise cell still raises NotImplementedError)"
        head = f"✗ {self.name}: {self.passed} of {self.total} checks passed" if self.total else f"✗ {self.name}"
        return head + ("\n" + self.failure if self.failure else "")


@dataclass
class Context:
    """The broker and the Spark session the checks use, created on first need and shared by every check.

    ``student``: whose variant of the hidden cases to build (``--student ID``); empty, every case is the one
    ``make grade`` shows.  Case builders take their random inputs from :meth:`seed`.
    """

    settings: Settings = field(default_factory=get_settings)
    spark_session: "SparkSession | None" = None
    student: str = ""
    _topics: list[str] = field(default_factory=list)
    _claim: Any = field(default=None, repr=False)  # this grader's registered use of the broker

    def seed(self, base: int) -> int:
        """The seed a case builder uses for its random inputs: ``base`` itself, or the student's own variant."""
        from ..core.variants import mixed_seed

        return mixed_seed(base, self.student)

    def spark(self) -> "SparkSession":
        if self.spark_session is None:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is None:
                from ..spark import create_spark_session

                active = create_spark_session(self.settings.replace(spark_ui_enabled=False),
                                              app_name="etl-kit exercises")
            self.spark_session = active
        return self.spark_session

    def bootstrap(self) -> str:
        """The broker of ``KAFKA_BOOTSTRAP_SERVERS``, started on this machine if none answers (as notebooks do).

        The grader registers as one of the broker's users (with no topic of the kit's: each case has its own),
        so a run that started the broker leaves it running while this one grades.
        """
        from ..core.broker import LocalKafka, default_data_dir
        from ..core.kafka import broker_answers
        from ..core.sharing import register

        bootstrap = self.settings.kafka_bootstrap_servers
        if not broker_answers(bootstrap, settings=self.settings):
            LocalKafka(bootstrap, default_data_dir(self.settings)).start(detach=True)
        if self._claim is None:
            self._claim = register(self.settings)
        return bootstrap

    def new_topic(self, label: str, partitions: int = 3) -> str:
        """An empty topic of its own for one case (deleted by :meth:`cleanup`)."""
        from ..core.kafka import create_topics
        from ..core.variants import student_slug

        owner = f"{student_slug(self.student)}." if self.student else ""
        topic = f"exercise.{owner}{label}.{uuid.uuid4().hex[:8]}"
        create_topics(self.bootstrap(), [topic], partitions, settings=self.settings)
        self._topics.append(topic)
        return topic

    def scratch(self, label: str) -> Path:
        """An empty folder of its own under ``DATA_DIR/exercises``."""
        folder = self.settings.data_dir / "exercises" / f"{label}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        return folder

    def cleanup(self) -> None:
        if not self._topics:
            return
        from kafka import KafkaAdminClient

        from ..core.kafka import client_options

        admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers, **client_options(self.settings))
        try:
            admin.delete_topics(self._topics)
        except Exception:  # noqa: BLE001 - leftover scratch topics are harmless
            pass
        finally:
            admin.close()
        self._topics.clear()


EXERCISES: dict[str, Exercise] = {}
_BY_DEFINITION: dict[str, str] = {}  # what a notebook defines -> the exercise (a class for the minibatch collector)


def exercise(name: str, lesson: str, title: str, concepts: Iterable[str], needs: str = "python",
             symbol: str | None = None, requirements: dict[str, str] | None = None):
    """Register the case builder of one exercise; ``symbol`` is what the student defines (default: ``name``);
    ``requirements``: {id: the words of the exercise text that state it}."""

    def register(cases: Callable[[Context], list[Case]]) -> Callable[[Context], list[Case]]:
        EXERCISES[name] = Exercise(name, lesson, title, tuple(concepts), needs, cases, dict(requirements or {}))
        _BY_DEFINITION[symbol or name] = name
        return cases

    return register


def is_blank(obj: Any) -> bool:
    """True for the untouched stub of an exercise (its body, or every method's, still raises NotImplementedError)."""
    if inspect.isclass(obj):
        methods = [v for v in vars(obj).values() if inspect.isfunction(v)]
        return bool(methods) and all(is_blank(m) for m in methods)
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return BLANK_MARKER in source and "NotImplementedError" in source


_default_context: Context | None = None


def check(name: str, solution: Any, context: Context | None = None, quiet: bool = False) -> Result:
    """Run ``solution`` (the student's function or class) against exercise ``name``'s hidden cases and print the
    outcome: all passed, or the smallest failing case with what went wrong and a hint."""
    global _default_context
    if name not in EXERCISES:
        raise KeyError(f"no exercise named {name!r}; the exercises are: {', '.join(EXERCISES)}")
    ex = EXERCISES[name]
    if is_blank(solution):
        result = Result(name, "blank")
    else:
        if context is None:
            _default_context = _default_context or Context()
            context = _default_context
        result = _run(ex, solution, context)
    if not quiet:
        print(result.line())
    return result


def _run(ex: Exercise, solution: Any, context: Context, only: Iterable[str] | None = None) -> Result:
    """Run ``solution`` against the cases of ``ex`` (``only``: the cases of these requirements)."""
    only = set(only) if only is not None else None
    try:
        cases = sorted(ex.cases(context), key=lambda c: c.size)
    except Exception as err:  # noqa: BLE001 - the grader's own set-up failed: say so, do not blame the student
        return Result(ex.name, "error", failure=f"  the grader could not prepare its cases: {err}")
    passed, first_failure, failed_requirement = 0, None, None
    try:
        for case in cases:
            if only is not None and case.requirement not in only:
                continue
            try:
                case.run(solution)
                passed += 1
            except (Exception, SystemExit) as err:  # noqa: BLE001 - any failure of the student's code is a finding;
                # a sys.exit() in it too, which would otherwise end the grading of every exercise after it
                if first_failure is None:
                    problem = str(err) if isinstance(err, Mismatch) else _describe(err)
                    first_failure = (f"  smallest failing case: {case.shown}\n  problem: {problem}\n"
                                     f"  hint: {case.hint}")
                    failed_requirement = case.requirement
    finally:
        context.cleanup()
    total = sum(only is None or c.requirement in only for c in cases)
    status = "pass" if passed == total else "fail"
    return Result(ex.name, status, passed, total, first_failure, failed_requirement=failed_requirement)


def _describe(err: BaseException) -> str:
    """An exception from the student's code, in one line, pointing at the student's own line when known."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.startswith("<exercise") or "ipykernel" in frame.filename:
            where = f" (line {frame.lineno}: {frame.line})"
            break
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"raised {type(err).__name__}{': ' + text[:300] if text else ''}{where}"


# --------------------------------------------------------------------------- a whole folder
def exercise_cells(notebook: Path) -> list[str]:
    """The sources of a notebook's cells tagged ``exercise`` (the cells a student writes)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and "exercise" in c.metadata.get("tags", [])]


class UnreadableNotebook(ValueError):
    """A submitted notebook that is not a notebook (not JSON, or not nbformat 4): the message says which and why."""


def exercise_cells_or_explain(notebook: Path) -> list[str]:
    """:func:`exercise_cells`, with a notebook that cannot be read raised as :class:`UnreadableNotebook`."""
    import nbformat

    try:
        return exercise_cells(notebook)
    except (ValueError, KeyError, AttributeError, TypeError, nbformat.reader.NotJSONError,
            nbformat.ValidationError, UnicodeDecodeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise UnreadableNotebook(f"{notebook.name} is not a readable notebook ({type(err).__name__}: {first}); "
                                 "open it in Jupyter, save it again and resubmit") from None


def load_solutions(notebook: Path) -> tuple[dict[str, Any], list[str]]:
    """Execute a notebook's exercise cells (each on its own) and return the exercises they define, and problems.

    Raises :class:`UnreadableNotebook` when the file is not a notebook at all."""
    found: dict[str, Any] = {}
    problems: list[str] = []
    for i, source in enumerate(exercise_cells_or_explain(notebook)):
        filename = f"<exercise {notebook.name} cell {i + 1}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for inspect
        namespace: dict[str, Any] = {"__name__": "__exercise__"}
        try:
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the student's own code, graded
        except (Exception, SystemExit) as err:  # noqa: BLE001 - reported in the score table (sys.exit included)
            problems.append(f"{notebook.name} exercise cell {i + 1}: {_describe(err)}")
            continue
        found.update({name: obj for name, obj in namespace.items() if name in _BY_DEFINITION})
    return {_BY_DEFINITION[k]: v for k, v in found.items()}, problems


def submitted_notebooks(path: Path) -> list[Path]:
    """The exercise notebooks of a submission: a folder's ``NN_*.ipynb`` files, or one notebook file."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(path.glob("[0-9][0-9]_*.ipynb"))


def grade_folder(folder: Path, context: Context | None = None, echo: Callable[[str], None] = print,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> list[Result]:
    """Grade every exercise notebook in ``folder`` (or the one notebook ``folder`` names); print a score table;
    return the results.

    Which exercises a notebook must answer comes from its lesson prefix (``07_...ipynb``); a notebook named
    otherwise is graded on the exercises its cells define.  ``on_event`` hears ``{"event": "start", ...}``
    before each exercise and ``{"event": "result", ...}`` after it (grade-class keeps them as they come, so a
    grading process killed midway still leaves what it finished).
    """
    context = context or Context()
    tell = on_event or (lambda event: None)
    results: list[Result] = []
    for notebook in submitted_notebooks(folder):
        wanted = [name for name, ex in EXERCISES.items() if _notebook_lesson(notebook) == ex.lesson]
        tell({"event": "load", "notebook": notebook.name})
        try:
            solutions, problems = load_solutions(notebook)
        except UnreadableNotebook as err:
            echo(f"✗ {err}")
            for name in wanted:
                result = Result(name, "error", failure=f"  {err}", notebook=notebook.name)
                results.append(result)
                tell({"event": "result", **asdict(result)})
            tell({"event": "problem", "notebook": notebook.name, "text": str(err)})
            continue
        for problem in problems:
            echo(f"✗ {problem}")
            tell({"event": "problem", "notebook": notebook.name, "text": problem})
        if not wanted:  # not named after a lesson: the exercises it defines
            wanted = [name for name in EXERCISES if name in solutions]
        for name in wanted:
            tell({"event": "start", "notebook": notebook.name, "exercise": name})
            if name not in solutions:
                result = Result(name, "error", failure="  the notebook's exercise cells do not define it")
            elif is_blank(solutions[name]):
                result = Result(name, "blank")
            else:
                result = _run(EXERCISES[name], solutions[name], context)
            result.notebook = notebook.name
            results.append(result)
            tell({"event": "result", **asdict(result)})
    echo(score_table(results))
    return results


def score_table(results: list[Result]) -> str:
    width = max([len(r.name) for r in results] + [8])
    nb_width = max([len(r.notebook) for r in results] + [8])
    lines = [f"{'notebook':<{nb_width}}  {'exercise':<{width}}  checks  status"]
    for r in results:
        checks = f"{r.passed}/{r.total}" if r.total else "-"
        lines.append(f"{r.notebook:<{nb_width}}  {r.name:<{width}}  {checks:>6}  {r.status}")
    done = sum(r.status == "pass" for r in results)
    lines.append(f"score: {done} of {len(results)} exercises pass")
    failing = [r for r in results if r.status in ("fail", "error") and r.failure]
    for r in failing:
        lines.append(r.line())
    return "\n".join(lines)


def _notebook_lesson(notebook: Path) -> str:
    """The lesson a notebook's name starts with (``07_parquet...`` -> ``07``), or "" for another name."""
    return notebook.name[:2] if notebook.name[:2].isdigit() and notebook.name[2:3] == "_" else ""


