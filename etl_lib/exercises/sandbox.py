"""Each student's grading in a sandbox of its own (bubblewrap), and the kernel's limits on its memory and processes.

``grade-class`` runs a student's code, so that code must not see what a student
should not see, nor outlive its grading, nor reach another student's grading.
:class:`Sandbox` starts the grading process under `bubblewrap
<https://github.com/containers/bubblewrap>`_ (``bwrap``, Debian's
``bubblewrap``), which builds the process a file system of its own out of bind
mounts:

- read-only: the system (``/usr``, a few files of ``/etc``), the Python that
  runs the kit, Java, and from the kit's checkout only ``etl_lib``,
  ``data_gen``, ``jvm`` (the jars) and ``pyproject.toml``: not
  ``exercises/`` (its ``solutions/``, ``mutants/`` and ``source/`` hold the
  answers), not ``.git`` (which holds them too), not ``data/`` nor ``tests/``;
- the student's own submission, read-only, and nothing else of the class:
  no other submission, no other student's log, report or work folder;
- writable: the student's work folder (its ``DATA_DIR``); what the grading
  process observed leaves through one pipe grade-class reads (its write end
  the one descriptor passed in), and grade-class alone judges it
  (:class:`~etl_lib.exercises.grader.Verdicts`);
  ``/tmp`` and ``HOME`` are a private tmpfs; everything else is read-only, the
  sandbox's own root included (``--remount-ro /``);
- its own PID namespace (``--unshare-pid``): when the grading process ends,
  or the sandbox is killed, the kernel kills every process left in it, a
  double-forked ``setsid()`` child included (``--die-with-parent`` covers a
  killed ``grade-class``); ``--new-session``; every capability dropped and no
  further user namespace (``--cap-drop ALL``, ``--disable-userns``), so the
  read-only mounts cannot be remounted or unmounted from inside;
- a cleared environment (``--clearenv``) holding only what Python, Java and
  Spark need and the student's own kit settings (:func:`sandbox_env`), handed
  to bwrap through a file (``--args``), not on its command line, which every
  user of the machine can read;
- a network namespace of its own (``--unshare-net``): only a loopback device,
  which bwrap brings up, and nothing of this machine's network.  A connection
  to a port of this machine (the class's or the instructor's broker, another
  student's, any local service) is refused by the kernel (``ECONNREFUSED``
  on 127.0.0.1, ``ENETUNREACH`` on another address).  Kafka is the student's
  own: ``KAFKA_BOOTSTRAP_SERVERS`` is :data:`SANDBOX_BOOTSTRAP`, where nothing
  answers, so the grader (:meth:`~etl_lib.exercises.grader.Context.bootstrap`)
  starts a broker in the student's work folder on first need.  That broker
  is a process of the sandbox: it counts in the student's memory limit and
  dies with its PID namespace.  The class broker's login (``KAFKA_SASL_*``,
  ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SSL_CA_FILE``) is not passed in.

Memory and processes are limited by the kernel where this machine lets the kit
create a child cgroup (:class:`CgroupLimits`: cgroup v2 ``memory.max`` and
``pids.max``, or the v1 ``memory`` and ``pids`` controllers); elsewhere the
memory is watched by polling ``/proc`` and the number of processes is bounded
only by the time limit, which ends the whole PID namespace.

:class:`Unconfined` is ``grade-class --no-sandbox``: the student's process as
the kit ran it before, in a process session of its own.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..core.errors import KitError
from ..core.settings import Settings, project_root

__all__ = ["SandboxUnavailable", "Sandbox", "Unconfined", "CgroupLimits", "find_sandbox", "sandbox_env"]

#: Every process and thread of one student's grading (a Spark driver JVM runs a few hundred threads).
DEFAULT_MAX_PROCESSES = 2048

# The parts of a source checkout the grading process needs: the kit's code and the jars.  Nothing else of the
# checkout is visible (exercises/ and .git hold the solutions, data/ other runs' outputs).
_KIT_PARTS = ("etl_lib", "data_gen", "jvm", "pyproject.toml")
# Of /etc only what Python, Java and Spark read: names and addresses of this host, users (Java and Hadoop ask
# for the user's name), the dynamic linker, time zone, certificates, Java's own configuration.
_ETC = ("/etc/hosts", "/etc/host.conf", "/etc/hostname", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
        "/etc/passwd", "/etc/group", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/timezone", "/etc/alternatives", "/etc/ssl/certs", "/etc/os-release", "/etc/mime.types",
        "/etc/protocols", "/etc/services", "/etc/fonts")
# Variables passed into the sandbox, beside the kit's own settings.
_ENV_NAMES = ("PATH", "LANG", "LANGUAGE", "TZ", "JAVA_HOME", "PYTHONUNBUFFERED")
_ENV_PREFIXES = ("LC_", "SPARK_", "PYSPARK_")
HOME = "/tmp/home"
#: KAFKA_BOOTSTRAP_SERVERS in every sandbox: its network namespace is its own, so every student can use one port.
SANDBOX_BOOTSTRAP = "127.0.0.1:9092"
# How the class's broker is reached and logged in to: kept outside the sandbox, whose broker is its own and plain.
_CLASS_BROKER_LOGIN = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                       "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_FILE")
# Last of bwrap's options: the sandbox's root (a tmpfs holding the mount points bwrap made) read-only, so that
# only the work folder, /tmp (HOME in it) and /dev/shm, all but the first private, are writable.
_SEAL = ("--remount-ro", "/")


class SandboxUnavailable(KitError):
    """bubblewrap is missing or this system refuses it a namespace; the message names the piece and the fix."""

    exit_code = 2


# ----------------------------------------------------------------------------- processes and their memory
def _rss_mb(pids: list[int]) -> float:
    """Resident memory of ``pids`` (Linux /proc), in MB; processes that ended while we looked count 0."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total / 2**20


def _all_pids() -> list[int]:
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after "pid (comm)" (state ppid pgrp session ...), or [] where gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2:].split()


class Unconfined:
    """A grading process without a sandbox (``--no-sandbox``): a process session of its own, its memory the
    resident memory of that session, stopped by killing the session."""

    name = "none"
    kernel_memory = False

    def start(self, cmd: list[str], *, env: dict[str, str], work: Path, channel: int, submission: Path,
              name: str, stdout: IO[bytes]) -> "Running":
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=str(work), start_new_session=True, pass_fds=(channel,))
        return Running(proc, lambda: [p for p in _all_pids() if _in_session(p, proc.pid)])

    def describe(self, memory_mb: int) -> list[str]:
        return ["Sandbox: none (--no-sandbox): each student's code runs as you, sees what you see (the solutions, "
                "the other submissions, your environment) and can leave processes behind; every gradebook row is "
                "marked unsandboxed",
                f"Limits: memory {memory_mb:,} MB per student, watched by polling /proc; no cap on the number of "
                "processes"]


def _in_session(pid: int, session: int) -> bool:
    """True when ``pid`` is a live process (not a zombie waiting for its parent) of session ``session``."""
    fields = _stat(pid)
    return len(fields) > 3 and fields[3] == str(session) and fields[0] != "Z"


@dataclass
class Running:
    """One student's grading process while it runs: its processes and their memory, whether the kernel stopped
    it for memory, and how to stop everything it started."""

    proc: subprocess.Popen
    members: Callable[[], list[int]]  # every process of this grading, as this machine can list them
    group: "StudentGroup | None" = None
    sandboxed: bool = False
    _stopped: bool = field(default=False, repr=False)

    def returncode(self) -> int:
        """How the grading process ended, as :attr:`subprocess.Popen.returncode` says it (``-11``: SIGSEGV):
        bwrap reports its command's death by a signal as 128 + the signal's number, as a shell does."""
        code = self.proc.returncode
        return -(code - 128) if self.sandboxed and code is not None and 128 < code < 128 + 65 else code

    def rss_mb(self) -> float:
        return _rss_mb(self.members())

    def out_of_memory(self) -> bool:
        """True once the kernel's memory limit has killed one of its processes."""
        return self.group is not None and self.group.oom_kills() > 0

    def stop(self) -> None:
        """Kill every process of this grading, wait until none is left (at most 10 s), remove its cgroup."""
        if self._stopped:
            return
        self._stopped = True
        self.members()  # before the kill: a sandbox's processes are found through its first one
        # The sandbox's outer bwrap (or the session leader without one): killing it ends the PID namespace
        # (--die-with-parent), and with it every process the student started.
        for kill in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait()
        if self.group is not None:
            self.group.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (left := self.members()):
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)


# ----------------------------------------------------------------------------- the kernel's limits
def _cgroup_mounts() -> list[tuple[str, str, str, set[str]]]:
    """(fstype, root, mount point, options) of every cgroup file system this process sees."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) > 4 and len(tail) > 2 and tail[0] in ("cgroup", "cgroup2"):
            point = fields[4].replace("\\040", " ")
            found.append((tail[0], fields[3], point, set(tail[2].split(",")) | set(fields[5].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and per "" (the v2 hierarchy)."""
    own = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            own[c.removeprefix("name=")] = path
    return own


def _under(point: str, root: str, path: str) -> Path:
    """The folder of cgroup ``path`` in a hierarchy mounted at ``point`` whose root is the cgroup ``root``."""
    rel = os.path.relpath(path, root)
    return Path(point) if rel == "." or rel.startswith("..") else Path(point) / rel


@dataclass
class CgroupLimits:
    """Where this process may create one child cgroup per student: ``dirs`` maps "memory" and "pids" to the
    parent folder (the same folder on cgroup v2, one per controller on v1)."""

    version: int
    dirs: dict[str, Path]

    @classmethod
    def find(cls) -> "tuple[CgroupLimits | None, str]":
        """The cgroups this machine lets the kit use, or None and why not."""
        mounts, own = _cgroup_mounts(), _own_cgroups()
        reasons = []
        v2 = next((m for m in mounts if m[0] == "cgroup2"), None)
        if v2 is not None and "" in own:
            parent = _under(v2[2], v2[1], own[""])
            try:
                available = (parent / "cgroup.controllers").read_text().split()
            except OSError:
                available = []
            if {"memory", "pids"} <= set(available):
                try:
                    _enable_controllers(parent)
                    return cls(2, {"memory": parent, "pids": parent}), ""
                except OSError as err:
                    reasons.append(f"cgroup v2 at {parent} does not hand its memory and pids controllers to a "
                                   f"child ({err.strerror})")
            else:
                reasons.append(f"cgroup v2 at {parent} offers no memory and pids controllers"
                               f" (it offers: {' '.join(available) or 'none'})")
        dirs = {}
        for controller in ("memory", "pids"):
            mount = next((m for m in mounts if m[0] == "cgroup" and controller in m[3]), None)
            if mount is not None and controller in own:
                dirs[controller] = _under(mount[2], mount[1], own[controller])
        if len(dirs) == 2:
            return cls(1, dirs), ""
        if not reasons:
            reasons.append("no cgroup v2 nor v1 memory and pids controllers are mounted")
        return None, "; ".join(reasons)

    def prune(self) -> None:
        """Remove the empty groups a grade-class killed with SIGKILL left behind (``etl-kit-<its pid>-...``)."""
        for parent in dict.fromkeys(self.dirs.values()):
            for folder in parent.glob("etl-kit-*-*"):
                owner = folder.name.split("-")[2]
                if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                    try:
                        folder.rmdir()  # refused while a process is still inside: then it stays
                    except OSError:
                        pass

    def open(self, name: str, memory_mb: int, max_processes: int) -> "StudentGroup":
        """A new child cgroup ``name`` with the limits written; raises OSError where the kernel refuses it."""
        group = StudentGroup(self.version, {c: d / name for c, d in self.dirs.items()})
        try:
            for folder in dict.fromkeys(group.dirs.values()):
                folder.mkdir()
            limit = str(memory_mb * 2**20)
            memory, pids = group.dirs["memory"], group.dirs["pids"]
            if self.version == 2:
                (memory / "memory.max").write_text(limit)
                _try_write(memory / "memory.swap.max", "0")
                _try_write(memory / "memory.oom.group", "1")  # one process over the limit: all of them stop
            else:
                (memory / "memory.limit_in_bytes").write_text(limit)
                _try_write(memory / "memory.memsw.limit_in_bytes", limit)  # memory plus swap: no swapping out
            (pids / "pids.max").write_text(str(max_processes))
        except OSError:
            group.close()
            raise
        return group


def _enable_controllers(parent: Path) -> None:
    """Let the child cgroups of ``parent`` (cgroup v2) use the memory and pids controllers.

    cgroup v2 hands controllers only to the children of a group that holds no process itself; when this
    process is alone in ``parent`` (a scope delegated to it) it first moves itself into a child group.
    """
    control = parent / "cgroup.subtree_control"
    if {"memory", "pids"} <= set(control.read_text().split()):
        return
    try:
        control.write_text("+memory +pids")
    except OSError as err:
        procs = (parent / "cgroup.procs").read_text().split()
        if err.errno != errno.EBUSY or procs != [str(os.getpid())]:
            raise
        leaf = parent / f"etl-kit-{os.getpid()}-self"
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        control.write_text("+memory +pids")


def _joining(group: "StudentGroup") -> list[str]:
    """A command prefix that moves itself into ``group``, then runs the rest of its command line (``exec``)."""
    files = group.procs_files()
    joins = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(files)))
    return ["/bin/sh", "-c", f'{joins} && shift {len(files)} && exec "$@"', "sh", *map(str, files)]


def _try_write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass  # an older kernel without this file, or swap accounting off: the main limit still holds


def _read_counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class StudentGroup:
    """One student's cgroup(s): what the kernel counts and limits for every process of that grading."""

    version: int
    dirs: dict[str, Path]

    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in dict.fromkeys(self.dirs.values())]

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.dirs["memory"] / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def oom_kills(self) -> int:
        memory = self.dirs["memory"]
        if self.version == 2:
            return _read_counter(memory / "memory.events", "oom_kill")
        return _read_counter(memory / "memory.oom_control", "oom_kill")

    def peak_mb(self) -> float:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.dirs["memory"] / name).read_text()) / 2**20
        except (OSError, ValueError):
            return 0.0

    def refused_forks(self) -> int:
        """How many times a fork or a new thread was refused at ``pids.max``."""
        return _read_counter(self.dirs["pids"] / "pids.events", "max")

    def close(self) -> None:
        """Kill what is left in the group and remove it."""
        deadline = time.monotonic() + 10
        for folder in dict.fromkeys(self.dirs.values()):
            while folder.exists():
                if self.version == 2:
                    _try_write(folder / "cgroup.kill", "1")
                try:
                    left = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    left = []
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                except OSError as err:
                    if err.errno == errno.ENOENT:
                        break
                    if time.monotonic() > deadline:
                        break  # left for the kernel; an empty group costs nothing
                    time.sleep(0.05)


# ----------------------------------------------------------------------------- the sandbox
def sandbox_env(env: dict[str, str], settings: Settings) -> dict[str, str]:
    """The environment the student's process gets: from ``env`` (the grading environment grade-class built)
    only PATH, the locale, Java's and Spark's variables and the kit's own settings; HOME and TMPDIR private.

    Kafka is the sandbox's own broker at :data:`SANDBOX_BOOTSTRAP` (a plain one, as the grader starts it), so
    the class broker's address and login stay outside: a password there would be the student's to read."""
    kit = set(settings.as_env()) - set(_CLASS_BROKER_LOGIN)
    kept = {k: v for k, v in env.items()
            if k in _ENV_NAMES or k in kit or k.startswith(_ENV_PREFIXES)}
    # The checkout is read-only in the sandbox: no __pycache__ writes to try.
    return {**kept, "HOME": HOME, "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1",
            "KAFKA_BOOTSTRAP_SERVERS": SANDBOX_BOOTSTRAP}


def _java_home() -> Path | None:
    """The JDK the kit would start: JAVA_HOME, else the one ``java`` on PATH resolves to."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return Path(home)
    java = shutil.which("java")
    return Path(java).resolve().parents[1] if java else None


def _readonly_paths() -> list[Path]:
    """Every host path the sandbox shows read-only, outside /usr and /etc: Python, Java, the kit's parts.

    Each at the path this process names it by and, where a symbolic link leads elsewhere, at its real path too
    (the venv's ``python`` is a link into the Python it was made from)."""
    import data_gen

    import etl_lib

    root = project_root()
    named = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             *(root / part for part in _KIT_PARTS), Path(etl_lib.__file__).parent, Path(data_gen.__file__).parent]
    java = _java_home()
    if java is not None:
        named.append(java)
    paths = {q for p in named for q in (Path(os.path.abspath(p)), Path(p).resolve()) if q.exists()}
    shown: list[Path] = []
    for p in sorted(paths, key=lambda p: len(p.parts)):  # a folder before what lies inside it
        if not any(p.is_relative_to(q) for q in [Path("/usr"), *shown]):
            shown.append(p)
    return shown


class Sandbox:
    """Starts each student's grading under bubblewrap, with the kernel's limits where the machine allows them.

    Build it with :func:`find_sandbox`, which runs bwrap once and refuses with one message when it cannot.
    """

    name = "bubblewrap"

    def __init__(self, bwrap: str, version: str, settings: Settings, *, memory_mb: int, max_processes: int,
                 limits: CgroupLimits | None, why_no_limits: str = "") -> None:
        self.bwrap, self.version, self.settings = bwrap, version, settings
        self.memory_mb, self.max_processes = memory_mb, max_processes
        self.limits, self.why_no_limits = limits, why_no_limits
        self.readonly = _readonly_paths()

    @property
    def kernel_memory(self) -> bool:
        return self.limits is not None

    def options(self, env: dict[str, str], *, work: Path | None = None, submission: Path | None = None) -> list[str]:
        """bwrap's options for one student (without ``work`` and the rest: for the trial run): the read-only
        system and kit, the namespaces, the environment, the student's own folders, then the root sealed."""
        args = ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for etc in [*_ETC, *sorted(glob.glob("/etc/java*"))]:
            args += ["--ro-bind-try", etc, etc]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.memory_mb * 2**20), "--tmpfs", "/tmp", "--dir", HOME,
                 "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-cgroup-try",
                 "--disable-userns",
                 "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv"]
        # The kit, its Python and Java after /tmp's tmpfs, so that a checkout or a venv under /tmp (a CI clone)
        # is bound on top of it, not hidden by it.
        for path in self.readonly:
            args += ["--ro-bind", str(path), str(path)]
        for key, value in sorted(env.items()):
            args += ["--setenv", key, value]
        # After /tmp's tmpfs, so that a class folder under /tmp is bound on top of it, not hidden by it.
        if work is not None and submission is not None:
            args += ["--bind", str(work), str(work), "--ro-bind", str(submission), str(submission),
                     "--chdir", str(work)]
        return args + list(_SEAL)

    def popen(self, options: list[str], cmd: list[str], *, env: dict[str, str], prefix: tuple[str, ...] | list[str] = (),
              keep_fds: tuple[int, ...] = (), **popen: Any) -> subprocess.Popen:
        """Start ``cmd`` under bwrap with ``options``, handed over in a file (``--args``), not on the command
        line: every user of this machine can read a command line, and the environment's values are in them."""
        with tempfile.TemporaryFile() as given:
            given.write(b"".join(o.encode() + b"\0" for o in options))
            given.seek(0)
            argv = [*prefix, self.bwrap, "--args", str(given.fileno()), "--", *cmd]
            return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, pass_fds=(given.fileno(), *keep_fds),
                                    **popen)

    def start(self, cmd: list[str], *, env: dict[str, str], work: Path, channel: int, submission: Path,
              name: str, stdout: IO[bytes]) -> Running:
        """Start ``cmd`` in the sandbox, inside a new cgroup ``etl-kit-<pid>-<name>`` when limits are in force;
        ``channel``, the write end of the pipe grade-class reads the observations from, is the one descriptor it
        inherits besides its output."""
        env = sandbox_env(env, self.settings)
        options = self.options(env, work=work.resolve(), submission=submission.resolve())
        group, prefix = None, []
        if self.limits is not None:
            group = self.limits.open(f"etl-kit-{os.getpid()}-{name}", self.memory_mb, self.max_processes)
            # The shell joins the group before it becomes bwrap, so every process of the grading starts inside.
            prefix = _joining(group)
        try:
            proc = self.popen(options, cmd, env=env, prefix=prefix, keep_fds=(channel,), stdout=stdout,
                              stderr=subprocess.STDOUT, start_new_session=True)
        except BaseException:
            if group is not None:
                group.close()
            raise
        if group is not None:
            return Running(proc, group.pids, group, sandboxed=True)
        return Running(proc, _Namespace(proc.pid).pids, sandboxed=True)

    def describe(self, memory_mb: int) -> list[str]:
        """What grade-class prints before the first student: the sandbox and which limits are in force."""
        lines = [f"Sandbox: {self.version}: each student sees the kit read-only without its solutions, only their "
                 "own submission and work folder, a private /tmp and HOME, a cleared environment; every process "
                 "they start ends with their grading (a PID namespace of their own); a network of their own, only "
                 "its loopback: no broker but their own is reachable"]
        if self.limits is not None:
            lines.append(f"Limits: memory {memory_mb:,} MB and {self.max_processes:,} processes and threads per "
                         f"student, held by the kernel (cgroup v{self.limits.version} "
                         f"{'memory.max' if self.limits.version == 2 else 'memory.limit_in_bytes'} and pids.max "
                         f"under {self.limits.dirs['memory']})")
        else:
            lines.append(f"Limits: memory {memory_mb:,} MB per student, watched by polling /proc (no cgroup the kit "
                         f"can create here: {self.why_no_limits}); no cap on the number of processes: a fork bomb "
                         "runs until the time limit ends its PID namespace")
        return lines


class _Namespace:
    """The processes of one sandbox, found by its PID namespace (where no cgroup lists them)."""

    def __init__(self, outer: int) -> None:
        self.outer, self.ns = outer, ""

    def pids(self) -> list[int]:
        pids = _all_pids()
        if not self.ns:
            inner = [p for p in pids if (f := _stat(p)) and len(f) > 1 and f[1] == str(self.outer)]
            for p in inner:  # bwrap's process inside: pid 1 of the sandbox
                try:
                    self.ns = os.readlink(f"/proc/{p}/ns/pid")
                    break
                except OSError:
                    continue
            if not self.ns:
                return []  # not started yet, or already gone
        found = []
        for p in pids:
            try:
                if os.readlink(f"/proc/{p}/ns/pid") == self.ns and _stat(p)[:1] != ["Z"]:
                    found.append(p)
            except OSError:
                continue
        return found


# ----------------------------------------------------------------------------- finding it
def _refusal(what: str, fix: str) -> SandboxUnavailable:
    return SandboxUnavailable(
        f"grade-class runs each student's code in a sandbox, and {what}. {fix} Or grade without a sandbox with "
        "--no-sandbox: every student's code then runs as you and can read the solutions, the other submissions "
        "and your environment, and each gradebook row is marked unsandboxed.")


def find_sandbox(settings: Settings, *, memory_mb: int, max_processes: int = DEFAULT_MAX_PROCESSES) -> Sandbox:
    """A :class:`Sandbox` that has run a process once on this machine, or :class:`SandboxUnavailable` naming the
    missing piece (bwrap, or the user namespaces it needs) and the fix."""
    if not sys.platform.startswith("linux"):
        raise _refusal(f"its sandbox (bubblewrap) runs on Linux only, not on {sys.platform}",
                       "Grade the class on a Linux machine (or in a Linux virtual machine).")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise _refusal("bubblewrap (`bwrap`) is not installed here (none on PATH)",
                       "Install it: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
                       "`sudo dnf install bubblewrap` (Fedora).")
    limits, why = CgroupLimits.find()
    sandbox = Sandbox(bwrap, "", settings, memory_mb=memory_mb, max_processes=max_processes, limits=limits,
                      why_no_limits=why)
    env = sandbox_env(dict(os.environ), settings)
    try:
        trial = sandbox.popen(sandbox.options(env), [sys.executable, "-c", "import etl_lib.exercises"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, stderr = trial.communicate(timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise _refusal(f"bubblewrap ({bwrap}) could not be run: {err}", "Check the installation of bubblewrap.")
    said = " ".join(stderr.split())[-300:]
    if trial.returncode != 0:
        if "namespace" in said or "uid map" in said or "Operation not permitted" in said or \
                "No space left on device" in said:
            raise _refusal(
                f"this system refuses bubblewrap a user namespace (bwrap said: {said})",
                "Allow unprivileged user namespaces: `sudo sysctl user.max_user_namespaces=15000` where it is 0; "
                "`sudo sysctl kernel.unprivileged_userns_clone=1` on Debian's older kernels; "
                "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu 24.04 and later; "
                "in a Docker container, a seccomp profile that allows them (`docker run --security-opt "
                "seccomp=unconfined ...`).")
        raise _refusal(f"a trial run in the sandbox failed (exit code {trial.returncode}: {said})",
                       "Run `python -m etl_lib exercises grade-class` from the kit's virtual environment.")
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    sandbox.version = version or "bubblewrap"
    if limits is not None:
        limits.prune()
        try:
            _probe_group(limits, max_processes)
        except OSError as err:
            sandbox.limits = None
            sandbox.why_no_limits = (f"cgroup v{limits.version} under {limits.dirs['memory']} refuses a child "
                                     f"group ({err.strerror or err})")
    return sandbox


def _probe_group(limits: CgroupLimits, max_processes: int) -> None:
    """Create a child cgroup, move a shell into it and remove it: what each student's grading will do."""
    group = limits.open(f"etl-kit-{os.getpid()}-probe", 64, max_processes)
    try:
        done = subprocess.run([*_joining(group), "true"], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise OSError(errno.EACCES, " ".join(done.stderr.split()) or "a shell could not join it")
    finally:
        group.close()
