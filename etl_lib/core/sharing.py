"""Which kit runs use a broker, so that one run never resets or stops what another live run still needs.

Two kit runs on one machine (a second clone's ``make demo``, a notebook
kernel, ``grade-class``) find the same broker at the same default address.
Each run that uses a broker *claims* it here: a small JSON file per process
(its pid, the process's start time, its command line, and per claim the
``DATA_DIR``, the topics it uses and whether it writes its outputs there).
Before a run deletes topics
(:func:`refuse_reset`) or stops a broker, it reads the other claims; files
of processes that have ended are pruned as they are read, so a run killed
with SIGKILL blocks nobody.

The files live in a folder per broker address under ``~/.cache/etl-kit/brokers``
(``XDG_CACHE_HOME`` is honoured), not in one clone's ``DATA_DIR``: a second
clone knows only the broker's address, not where the first clone keeps it.
So runs see each other when they run as one user in one process namespace
(a kernel in a container and a demo on the host do not).
Beside the claims lies the *broker note* of a broker a kit run started: its
pid, its storage, whether it is temporary (started for one run, to be stopped
when its last user leaves) and which run started it.

What counts as "the same run": a process, its ancestors and its descendants.
``grade-class`` and the graders it spawns, a notebook runner and its kernels,
pytest and the programs a test starts share a broker on purpose (each on
topics of its own), so they never block each other.

>>> address_key("localhost:9092") == address_key("127.0.0.1:9092")
True
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import BrokerInUseError
from .kafka import bootstrap_hosts, port_in_use

__all__ = ["Claim", "BrokerNote", "Run", "address_key", "broker_note", "forget_broker", "hand_over", "left_running",
           "live_runs", "note_broker", "other_runs", "refuse_reset", "refuse_stop", "register", "registry_root",
           "same_run", "start_token"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_claims: dict[str, dict[str, dict]] = {}  # address key -> claim id -> {"data_dir", "topics", "outputs"}
_since: dict[str, float] = {}  # address key -> when this process first claimed it
_atexit_done = False


# ----------------------------------------------------------------------------- processes
def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after "pid (comm)", or None where there is no such process or no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def _ps(pid: int, column: str) -> str | None:
    """One column of ``ps`` for ``pid`` (systems without /proc, such as macOS), or None."""
    try:
        out = subprocess.run(["ps", "-o", f"{column}=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _has_proc() -> bool:
    return Path("/proc/self/stat").exists()


def start_token(pid: int) -> str:
    """When process ``pid`` started, as an opaque token: a recycled pid has another one. "" when unknown."""
    if _has_proc():
        fields = _stat_fields(pid)
        return fields[19] if fields and len(fields) > 19 else ""  # starttime, field 22 of stat
    return _ps(pid, "lstart") or ""


def _alive(pid: int, token: str = "") -> bool:
    """True while process ``pid`` runs (not a zombie) and, if ``token`` is given, is the process that had it."""
    if pid <= 0:
        return False
    if _has_proc():
        fields = _stat_fields(pid)
        if fields is None or fields[0] == "Z":
            return False
    else:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process: alive
    return not token or start_token(pid) in ("", token)


def _parent(pid: int) -> int:
    if _has_proc():
        fields = _stat_fields(pid)
        return int(fields[1]) if fields else 0
    ppid = _ps(pid, "ppid")
    return int(ppid) if ppid and ppid.isdigit() else 0


def _ancestors(pid: int) -> set[int]:
    out: set[int] = set()
    while pid > 1 and pid not in out and len(out) < 256:
        out.add(pid)
        pid = _parent(pid)
    return out - {0, 1}


def same_run(pid: int, me: int | None = None) -> bool:
    """True when ``pid`` is this process, one of its ancestors or one of its descendants."""
    me = os.getpid() if me is None else me
    return pid in _ancestors(me) or me in _ancestors(pid)


def _command() -> str:
    """This process's command line, short enough for one message (``python -m etl_lib demo --days 7``)."""
    try:
        argv = [a.decode(errors="replace") for a in Path("/proc/self/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        argv = [sys.executable, *sys.argv]
    if argv:
        argv[0] = Path(argv[0]).name
    text = " ".join(" ".join(argv).split())  # a multi-line `python -c` on one line
    return text if len(text) <= 160 else text[:157] + "..."


# ----------------------------------------------------------------------------- where the files live
def registry_root() -> Path:
    """The folder holding one folder per broker address (per user: ``~/.cache/etl-kit/brokers``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "etl-kit" / "brokers"


def address_key(address: str) -> str:
    """The folder name of one broker address; ``localhost`` and 127.0.0.1 are the same broker."""
    host, port = bootstrap_hosts(address)[0]
    host = "127.0.0.1" if host == "localhost" else host
    return f"{host.replace(':', '-').replace('/', '-')}_{port}"


def _keys(bootstrap: str) -> list[str]:
    """One key per listed broker: runs on overlapping lists see each other."""
    return list(dict.fromkeys(address_key(f"{h}:{p}") for h, p in bootstrap_hosts(bootstrap)))


def _every_key() -> list[str]:
    try:
        return sorted(p.name for p in registry_root().iterdir() if p.is_dir())
    except OSError:
        return []


def _folder(key: str) -> Path:
    return registry_root() / key


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    for attempt in range(3):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            break
        except FileNotFoundError:  # another run tidied the empty folder away between the two lines
            if attempt == 2:
                raise
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------- claims
@dataclass(frozen=True)
class Run:
    """A live process that uses a broker, as its claims describe it: what a refusal message names."""

    pid: int
    command: str
    since: float
    data_dirs: tuple[str, ...]
    topics: frozenset[str]
    output_dirs: tuple[str, ...] = ()  # the DATA_DIRs whose outputs it writes (and empties first)

    def describe(self) -> str:
        dirs = ", ".join(f"DATA_DIR={d}" for d in self.data_dirs) or "DATA_DIR unknown"
        started = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} (`{self.command}`, {dirs}, since {started})"


@dataclass
class Claim:
    """This process's use of the broker(s) of one bootstrap list; :meth:`release` ends it (exit does too)."""

    bootstrap: str
    id: str

    def release(self) -> None:
        with _lock:
            for key in _keys(self.bootstrap):
                _claims.get(key, {}).pop(self.id, None)
                _save(key)


def _save(key: str) -> None:
    """Write (or remove, when it holds no claim) this process's file for one address. Called under the lock."""
    path = _folder(key) / "runs" / f"{os.getpid()}.json"
    claims = _claims.get(key) or {}
    try:
        if not claims:
            path.unlink(missing_ok=True)
            _tidy(path.parent.parent)
            return
        _write_json(path, {"pid": os.getpid(), "start": start_token(os.getpid()), "command": _command(),
                           "since": _since.setdefault(key, time.time()), "claims": claims})
    except OSError as err:  # a read-only home: the kit still runs, without this protection
        log.warning("Cannot record this run's use of the broker in %s (%s); other kit runs will not see it.",
                    path.parent, err)


def _release_all() -> None:
    with _lock:
        for key in list(_claims):
            _claims[key].clear()
            _save(key)


def register(settings, topics: Iterable[str] = (), *, key: str | None = None, outputs: bool = False) -> Claim:
    """Record that this process uses the broker(s) of ``settings.kafka_bootstrap_servers`` and ``topics``.

    ``outputs``: this run writes its outputs under ``settings.data_dir`` (and
    empties them first, as the demo does), so no other run may empty that folder.
    ``key``: a name for the claim; registering the same key again replaces it
    (a notebook that runs its setup cell twice).  Released by
    :meth:`Claim.release`, and at the latest when the process exits.
    """
    global _atexit_done
    claim = Claim(settings.kafka_bootstrap_servers, key or uuid.uuid4().hex)
    entry = {"data_dir": str(settings.data_dir), "topics": sorted(set(topics)), "outputs": outputs}
    with _lock:
        for k in _keys(claim.bootstrap):
            _claims.setdefault(k, {})[claim.id] = entry
            _save(k)
        if not _atexit_done:
            atexit.register(_release_all)
            _atexit_done = True
    return claim


def live_runs(bootstrap: str | None) -> list[Run]:
    """Every live process that claims a broker of ``bootstrap`` (None: any broker), this one included;
    the files of processes that have ended are removed."""
    runs: dict[int, Run] = {}
    keys = _keys(bootstrap) if bootstrap is not None else _every_key()
    for key in keys:
        for path in sorted((_folder(key) / "runs").glob("*.json")):
            data = _read_json(path)
            try:
                pid = int(data["pid"])
            except (TypeError, KeyError, ValueError):
                continue  # being written, or not ours
            if not _alive(pid, str(data.get("start", ""))):
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
                continue
            claims = list((data.get("claims") or {}).values())
            old = runs.get(pid) or Run(pid, str(data.get("command", "?")), float(data.get("since", 0.0)), (),
                                       frozenset())
            runs[pid] = Run(old.pid, old.command, old.since,
                            tuple(dict.fromkeys([*old.data_dirs, *(c["data_dir"] for c in claims)])),
                            old.topics.union(*(c["topics"] for c in claims)),
                            tuple(dict.fromkeys([*old.output_dirs,
                                                 *(c["data_dir"] for c in claims if c.get("outputs"))])))
    return sorted(runs.values(), key=lambda r: r.pid)


def other_runs(bootstrap: str | None) -> list[Run]:
    """The live runs of ``bootstrap`` (None: of any broker) that are not this run (this process, its ancestors,
    its descendants)."""
    return [r for r in live_runs(bootstrap) if not same_run(r.pid)]


# ----------------------------------------------------------------------------- refusals
def _spare_port(port: int) -> int:
    """A port near ``port`` that nothing on 127.0.0.1 holds: where this run could have a broker of its own."""
    for candidate in range(port + 1, port + 100):
        if candidate < 65536 and not port_in_use("127.0.0.1", candidate):
            return candidate
    return port + 1


def _same_folder(a: Path | str, b: Path | str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def refuse_reset(bootstrap: str, topics: Iterable[str], *, data_dir: Path | str | None = None) -> None:
    """Raise :class:`BrokerInUseError` when another live run uses one of ``topics`` on this broker, or (with
    ``data_dir``) writes its outputs in that folder, on any broker.

    Called before a run deletes and recreates topics (and, for the demo, empties
    the outputs under its ``DATA_DIR``): nothing has been touched yet.
    """
    topics = set(topics)
    by_topic = [(run, sorted(run.topics & topics)) for run in other_runs(bootstrap) if run.topics & topics]
    by_dir = [] if data_dir is None else [
        run for run in other_runs(None) if any(_same_folder(d, data_dir) for d in run.output_dirs)]
    if not by_topic and not by_dir:
        return
    what = []
    if by_topic:
        shared = sorted({t for _, ts in by_topic for t in ts})
        what.append(f"the topics {', '.join(shared)} on the Kafka broker at {bootstrap}, which this run would "
                    "delete and recreate")
    if by_dir:
        what.append(f"DATA_DIR={data_dir}, whose outputs this run would empty")
    clashing = list({run.pid: run for run in [*(r for r, _ in by_topic), *by_dir]}.values())
    runs = "; ".join(run.describe() for run in clashing[:3]) + (
        f"; and {len(clashing) - 3} more" if len(clashing) > 3 else "")
    own_broker = (f"a broker of its own on another port (KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:"
                  f"{_spare_port(bootstrap_hosts(bootstrap)[0][1])}; the kit starts one there)")
    own_topics = "topics of its own (the KAFKA_TOPIC_* settings, e.g. KAFKA_TOPIC_BIKE=run2.bike-trips)"
    if by_topic and by_dir:
        fix = f"a DATA_DIR of its own and either {own_broker} or {own_topics}"
    elif by_dir:
        fix = "a DATA_DIR of its own"
    else:
        fix = f"{own_broker}, or {own_topics}"
    raise BrokerInUseError(f"Another kit run uses {' and '.join(what)}: {runs}. "
                           f"Wait until it ends, or give this run {fix}.")


def refuse_stop(bootstrap: str, pid: int) -> None:
    """Raise :class:`BrokerInUseError` when another live run uses the broker ``pid`` at ``bootstrap``."""
    others = other_runs(bootstrap)
    if others:
        raise BrokerInUseError(
            f"Not stopping the Kafka broker at {bootstrap} (pid {pid}): another kit run uses it: "
            f"{'; '.join(r.describe() for r in others)}. Stop it when that run has ended (a broker the kit started "
            "for one run is stopped by the last run that uses it), or now anyway with "
            "`python -m etl_lib broker stop --force`.")


def left_running(bootstrap: str, pid: int | None, others: list[Run]) -> str:
    """The line a run prints when it leaves a broker it would have stopped to the runs still using it."""
    return (f"Kafka broker at {bootstrap}{f' (pid {pid})' if pid else ''} left running: another kit run still uses "
            f"it: {'; '.join(r.describe() for r in others)}. The last run that uses it stops it "
            "(or `make broker-stop` once they have ended).")


# ----------------------------------------------------------------------------- the broker note
@dataclass(frozen=True)
class BrokerNote:
    """A broker a kit run started at an address: who stops it, and when."""

    pid: int
    data_dir: str
    temporary: bool  # started for one run: stopped when its last user leaves (a detached one stays)
    starter: int | None  # the run that started it and will stop it; None once it has left it to the others
    starter_start: str = ""

    def starter_present(self) -> bool:
        """True while the run that started the broker is alive and has not left it to the others."""
        return self.starter is not None and _alive(self.starter, self.starter_start)


def _note_path(bootstrap: str) -> Path:
    return _folder(_keys(bootstrap)[0]) / "broker.json"


def note_broker(bootstrap: str, pid: int, data_dir: Path, *, temporary: bool) -> None:
    """Record that this process started broker ``pid`` at ``bootstrap`` (``temporary``: stop it when done)."""
    me = os.getpid()
    try:
        _write_json(_note_path(bootstrap), {"pid": pid, "data_dir": str(data_dir), "temporary": temporary,
                                            "starter": me, "starter_start": start_token(me)})
    except OSError as err:
        log.warning("Cannot record the broker in %s (%s).", _note_path(bootstrap).parent, err)


def broker_note(bootstrap: str) -> BrokerNote | None:
    """The note of the broker a kit run started at ``bootstrap``, or None (none, or its process has ended)."""
    data = _read_json(_note_path(bootstrap))
    if not data:
        return None
    note = BrokerNote(int(data["pid"]), str(data["data_dir"]), bool(data["temporary"]), data.get("starter"),
                      str(data.get("starter_start", "")))
    if not _alive(note.pid):
        forget_broker(bootstrap)
        return None
    return note


def hand_over(bootstrap: str) -> None:
    """The starting run leaves: the broker's last user stops it from now on."""
    path = _note_path(bootstrap)
    data = _read_json(path)
    if data and data.get("starter") == os.getpid():
        data["starter"] = None
        with contextlib.suppress(OSError):
            _write_json(path, data)


def forget_broker(bootstrap: str, pid: int | None = None) -> None:
    """Remove the broker note of ``bootstrap`` (its broker has stopped); with ``pid``, only a note of that broker."""
    path = _note_path(bootstrap)
    data = _read_json(path)
    if pid is not None and data and data.get("pid") != pid:
        return
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    _tidy(path.parent)


def _tidy(folder: Path) -> None:
    """Remove an address's folder once it holds neither a note nor a claim (tests leave one per free port)."""
    for empty in (folder / "runs", folder):
        with contextlib.suppress(OSError):
            empty.rmdir()
