"""The grading machinery: exercises, their cases, the shared broker and Spark session, and the reports."""

from __future__ import annotations

import inspect
import json
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
    """One hidden case, in two halves that may run in two processes.

    ``observe(solution)`` runs the student's code on the case's inputs and returns what it did as plain data
    (JSON: numbers, texts, lists, dicts), or raises :class:`Mismatch` when what it did cannot be recorded (a
    refusal, a timeout).  ``judge(data)`` decides from that data alone, raising :class:`Mismatch` when the case
    fails: it never sees the student's objects, so nothing the student's code defines (an ``__eq__``, a patched
    module) can take part in the decision.  grade-class runs ``observe`` in the student's sandbox and ``judge``
    in its own process; ``make grade`` and :func:`check` run both here, the data passed through JSON all the
    same.  ``shown`` is the input as the student sees it, ``size`` orders cases (smallest first),
    ``requirement`` the id of the stated requirement it checks (see :attr:`Exercise.requirements`).
    """

    shown: str
    observe: Callable[[Any], Any]
    judge: Callable[[Any], None]
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
        if not broker_answers(self.settings):
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
        self.bootstrap()  # the broker, started if none answers
        create_topics(self.settings, [topic], partitions)
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
        from ..core.kafka import _admin

        admin = _admin(self.settings)
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


# --------------------------------------------------------------------------- observing and judging
MAX_OBSERVATION = 4 * 2**20  # characters of one case's observation as JSON; more is refused, not judged


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` (something the student's code returned) as plain JSON data: numbers (numpy's too), texts,
    booleans and None as they are; tuples and lists (a Spark Row too) as lists; a dict (a Counter too) with its
    keys as texts; anything else as
    ``{"$type": its class name, "$repr": its repr cut to 300 characters}``, so that a judge compares data, never
    an object of the student's."""
    import numbers

    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if depth > 50:
        return {"$type": type(value).__name__, "$repr": "(nested too deep)"}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    try:
        shown = repr(value)[:300]
    except Exception as err:  # noqa: BLE001 - a repr that raises is the student's; say so
        shown = f"<repr raised {type(err).__name__}>"
    return {"$type": type(value).__name__, "$repr": shown}


def shown(value: Any) -> str:
    """A plain value (see :func:`plain`) as a judge's message shows it: the repr of what the student returned."""
    if isinstance(value, dict) and set(value) == {"$type", "$repr"}:
        return str(value["$repr"])
    return repr(value)


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    """What ``call()`` (the student's code) did, as plain data: ``{"returned": plain value}``, or ``{"raised":
    class name, "kinds": the builtin exception classes it is an instance of, "message": its text}``."""
    try:
        return {"returned": plain(call())}
    except (Exception, SystemExit) as err:  # noqa: BLE001 - what the student's code raised is the observation
        import builtins

        kinds = sorted({k.__name__ for k in type(err).__mro__ if getattr(builtins, k.__name__, None) is k})
        return {"raised": type(err).__name__, "kinds": kinds, "message": str(err)[:2000],
                "described": _describe(err)}


def raised(seen: dict[str, Any], kind: str) -> bool:
    """True when an :func:`outcome` is an exception of the builtin class ``kind`` (a subclass counts)."""
    return "raised" in seen and kind in (seen.get("kinds") or [])


def observe_case(case: Case, solution: Any) -> dict[str, Any]:
    """Run the student's half of ``case``: ``{"data": ...}`` (JSON-ready), or ``{"failed": why}`` when the
    observation itself failed (a :class:`Mismatch` the observing half raised, or an error of the student's code)."""
    try:
        data = case.observe(solution)
    except Mismatch as err:
        return {"failed": str(err)}
    except (Exception, SystemExit) as err:  # noqa: BLE001 - any failure of the student's code is a finding;
        # a sys.exit() in it too, which would otherwise end the grading of every exercise after it
        return {"failed": _describe(err)}
    try:
        json.dumps(data, allow_nan=True)
    except (TypeError, ValueError) as err:  # the kit's own observing half returned an object: its bug, said so
        return {"failed": f"the grader's observation is not plain data ({err}); please report this"}
    return {"data": data}


def judge_case(case: Case, observation: Any) -> str | None:
    """Decide ``case`` from an observation (what :func:`observe_case` returned, after it crossed a process
    boundary as JSON, so it may be anything): None when it passes, else the problem in words."""
    if not isinstance(observation, dict) or not ("data" in observation or "failed" in observation):
        return "no observation of this case came back (the grading process ended before it, or sent nonsense)"
    if "failed" in observation:
        return str(observation["failed"])[:2000]
    try:
        case.judge(observation["data"])
    except Mismatch as err:
        return str(err)[:2000]
    except Exception as err:  # noqa: BLE001 - data the judge cannot read is data that does not pass
        return f"what the code did could not be judged ({type(err).__name__}: {str(err)[:200]})"
    return None


def _through_json(observation: dict[str, Any]) -> Any:
    """The observation as the grading parent would receive it: through JSON, as one line of limited length."""
    text = json.dumps(observation, allow_nan=True)
    if len(text) > MAX_OBSERVATION:
        return {"failed": f"the observation is {len(text):,} characters of JSON, more than the grader reads"}
    return json.loads(text)


def judge_cases(name: str, cases: list[Case], observations: dict[int, Any], *,
                only: Iterable[str] | None = None) -> Result:
    """The result of exercise ``name`` from its ``cases`` (smallest first) and the observations by case index."""
    only = set(only) if only is not None else None
    passed, total, first_failure, failed_requirement = 0, 0, None, None
    for i, case in enumerate(cases):
        if only is not None and case.requirement not in only:
            continue
        total += 1
        problem = judge_case(case, observations.get(i))
        if problem is None:
            passed += 1
        elif first_failure is None:
            first_failure = f"  smallest failing case: {case.shown}\n  problem: {problem}\n  hint: {case.hint}"
            failed_requirement = case.requirement
    status = "pass" if passed == total else "fail"
    return Result(name, status, passed, total, first_failure, failed_requirement=failed_requirement)


def cases_of(ex: Exercise, context: Context) -> list[Case]:
    """The cases of ``ex`` for ``context``'s student, smallest first (the order both halves number them in)."""
    return sorted(ex.cases(context), key=lambda c: c.size)


def _run(ex: Exercise, solution: Any, context: Context, only: Iterable[str] | None = None) -> Result:
    """Run ``solution`` against the cases of ``ex`` here, observing and judging in this process (``only``: the
    cases of these requirements); the observations cross JSON as they do between grade-class's two processes."""
    only = set(only) if only is not None else None
    try:
        cases = cases_of(ex, context)
    except Exception as err:  # noqa: BLE001 - the grader's own set-up failed: say so, do not blame the student
        return Result(ex.name, "error", failure=f"  the grader could not prepare its cases: {err}")
    observations: dict[int, Any] = {}
    try:
        for i, case in enumerate(cases):
            if only is None or case.requirement in only:
                observations[i] = _through_json(observe_case(case, solution))
    finally:
        context.cleanup()
    return judge_cases(ex.name, cases, observations, only=only)


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


def observe_folder(folder: Path, context: Context, send: Callable[[dict[str, Any]], None]) -> None:
    """The student's half of grading ``folder``: run its exercise cells and every case's observing half, and
    ``send`` what happened as events (plain dicts, in order), deciding nothing.

    Which exercises a notebook must answer comes from its lesson prefix (``07_...ipynb``); a notebook named
    otherwise is observed on the exercises its cells define.  Events: ``load`` (a notebook's cells are run),
    ``problem`` (a cell failed), ``start`` (an exercise begins), ``observed`` (one case: its index and
    observation), ``observed-all`` (every case of the exercise was observed), ``unanswered`` (blank, or not
    defined: its status and why).  :class:`Verdicts` turns them into results.
    """
    for notebook in submitted_notebooks(folder):
        wanted = [name for name, ex in EXERCISES.items() if _notebook_lesson(notebook) == ex.lesson]
        send({"event": "load", "notebook": notebook.name})
        try:
            solutions, problems = load_solutions(notebook)
        except UnreadableNotebook as err:
            send({"event": "problem", "notebook": notebook.name, "text": str(err)})
            for name in wanted:
                send({"event": "unanswered", "notebook": notebook.name, "exercise": name, "status": "error",
                      "failure": f"  {err}"})
            continue
        for problem in problems:
            send({"event": "problem", "notebook": notebook.name, "text": problem})
        if not wanted:  # not named after a lesson: the exercises it defines
            wanted = [name for name in EXERCISES if name in solutions]
        for name in wanted:
            send({"event": "start", "notebook": notebook.name, "exercise": name})
            if name not in solutions:
                send({"event": "unanswered", "notebook": notebook.name, "exercise": name, "status": "error",
                      "failure": "  the notebook's exercise cells do not define it"})
                continue
            if is_blank(solutions[name]):
                send({"event": "unanswered", "notebook": notebook.name, "exercise": name, "status": "blank"})
                continue
            try:
                cases = cases_of(EXERCISES[name], context)
            except Exception as err:  # noqa: BLE001 - the grader's own set-up failed: the judge says so
                send({"event": "unanswered", "notebook": notebook.name, "exercise": name, "status": "error",
                      "failure": f"  the grader could not prepare its cases: {err}"})
                continue
            try:
                for i, case in enumerate(cases):
                    send({"event": "observed", "notebook": notebook.name, "exercise": name, "case": i,
                          "observation": observe_case(case, solutions[name])})
            finally:
                context.cleanup()
            send({"event": "observed-all", "notebook": notebook.name, "exercise": name})


class Verdicts:
    """The judging half: hears the events :func:`observe_folder` sends (from this process, or from a student's
    sandbox, where they may be forged) and decides each exercise's result from its own cases, built here for
    ``context``'s student.  Only an ``observed-all`` or ``unanswered`` event yields a result, once per
    exercise; an event that is not what the observing half sends is ignored; a missing observation fails its
    case.  Every decision is made here: the other side can only say what its code did."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.results: list[Result] = []
        self.problems: list[tuple[str, str]] = []  # (notebook, text)
        self._cases: dict[str, list[Case] | Exception] = {}
        self._seen: dict[str, dict[int, Any]] = {}
        self._done: set[str] = set()
        self.last: dict[str, Any] = {}  # the last well-formed event: where the observing half was

    def hear(self, event: Any) -> Result | None:
        """Take one event; the result it completes, if any."""
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            return None
        kind, notebook, name = event["event"], event.get("notebook"), event.get("exercise")
        if not isinstance(notebook, str) or len(notebook) > 300:
            return None
        if kind == "problem":
            if isinstance(event.get("text"), str):
                self.problems.append((notebook, event["text"][:2000]))
            return None
        if kind == "load":
            self.last = {"event": "load", "notebook": notebook}
            return None
        if name not in EXERCISES or name in self._done:
            return None
        self.last = {"event": kind, "notebook": notebook, "exercise": name}
        if kind == "observed" and type(event.get("case")) is int:
            self._seen.setdefault(name, {}).setdefault(event["case"], event.get("observation"))
            return None
        if kind == "unanswered":
            status = event.get("status") if event.get("status") in ("blank", "error") else "error"
            failure = event.get("failure") if isinstance(event.get("failure"), str) else None
            return self._record(Result(name, status, failure=failure and failure[:2000], notebook=notebook))
        if kind == "observed-all":
            cases = self.cases(name)
            if isinstance(cases, Exception):
                result = Result(name, "error", failure=f"  the grader could not prepare its cases: {cases}")
            else:
                result = judge_cases(name, cases, self._seen.get(name, {}))
            result.notebook = notebook
            return self._record(result)
        return None

    def cases(self, name: str) -> list[Case] | Exception:
        if name not in self._cases:
            try:
                self._cases[name] = cases_of(EXERCISES[name], self.context)
            except Exception as err:  # noqa: BLE001 - reported as the grader's error
                self._cases[name] = err
        return self._cases[name]

    def _record(self, result: Result) -> Result:
        self._done.add(result.name)
        self.results.append(result)
        return result


def grade_folder(folder: Path, context: Context | None = None, echo: Callable[[str], None] = print,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> list[Result]:
    """Grade every exercise notebook in ``folder`` (or the one notebook ``folder`` names) in this process:
    observe (:func:`observe_folder`) and judge (:class:`Verdicts`) each case; print a score table; return the
    results.  ``on_event`` hears ``{"event": "start", ...}`` before each exercise and ``{"event": "result",
    ...}`` after it."""
    context = context or Context()
    tell = on_event or (lambda event: None)
    verdicts = Verdicts(context)

    def send(event: dict[str, Any]) -> None:
        if event["event"] == "observed":  # the round trip grade-class's observations make
            event = {**event, "observation": _through_json(event["observation"])}
        if event["event"] == "problem":
            echo(f"✗ {event['text']}")
        if event["event"] in ("load", "start", "problem"):
            tell(event)
        result = verdicts.hear(event)
        if result is not None:
            tell({"event": "result", **asdict(result)})

    observe_folder(folder, context, send)
    echo(score_table(verdicts.results))
    return verdicts.results


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


