"""grade-class's sandbox (bubblewrap) against a class of attackers, graded in one run.

Seven attackers sit between two honest students, each trying what the sandbox must stop: running the
instructor's solutions found through ``etl_lib.__file__``; reading the other submissions, the class output
folder and an earlier student's log; reading the instructor's environment; a double-forked ``setsid()`` child
that waits to rewrite a later student's report; a (bounded) fork bomb; writes outside its work folder; a
connection to a port this machine listens on (the sandbox's network is its own).  The students answer the
JVM-free exercises (lessons 01 and 03), so no broker or Spark starts; an attacker on a real broker outside
its sandbox is tested in tests/integration/test_exercises_graded.py.

Two more attack what the sandbox cannot stop, the student's own process: one forges events on the channel its
grading process writes to (from an ``atexit`` handler and before the real ones), one patches the grader's
functions through ``sys.modules``.  Neither can reach a grade, because grade-class judges every case itself from
the observations (issue 36, item 1): the forged and patched observations are judged like any other, and fail.

Skipped where bubblewrap cannot run (no bwrap, no user namespaces), unless REQUIRE_SANDBOX is set (CI sets it
in .ci/run), where it fails instead.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from etl_lib.core.settings import load_settings
from etl_lib.exercises.sandbox import SANDBOX_BOOTSTRAP, SandboxUnavailable, find_sandbox, sandbox_env

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "exercises" / "solutions"
CFG, BFD = "01_configuration.ipynb", "03_nightly_file_pipeline.ipynb"
LIMIT_PROCESSES = 200  # --max-processes for the class: the fork bomb below tries 400

pytestmark = pytest.mark.timeout(300)


def _require_sandbox() -> None:
    try:
        find_sandbox(load_settings(), memory_mb=1000)
    except SandboxUnavailable as err:
        if os.environ.get("REQUIRE_SANDBOX"):
            pytest.fail(f"REQUIRE_SANDBOX is set but grade-class's sandbox cannot run here: {err}")
        pytest.skip(f"no sandbox here: {err}")


def _notebook(src: Path, dst: Path, code: str = "") -> None:
    """Copy notebook ``src`` to ``dst``, with ``code`` appended to its first exercise cell (after the stub, so
    that whatever the attack defines replaces the stub)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    cell = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    cell.source = cell.source + "\n" + code
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)


# Each attack prints what it found (its log is what `make grade` shows) and, where it succeeds, defines the
# exercise with what it stole, so that success would be a pass in the gradebook.
STEAL_SOLUTIONS = """
import pathlib, subprocess, etl_lib
from etl_lib.exercises.grader import load_solutions
root = pathlib.Path(etl_lib.__file__).resolve().parents[1]
for part in ("exercises/solutions", "exercises/mutants", "exercises/source", ".git", "tests"):
    print("ATTACK1", part, sorted(p.name for p in (root / part).glob("*"))[:3] if (root / part).exists() else "absent")
stolen = {}
for nb in (root / "exercises" / "solutions").glob("*.ipynb"):
    stolen.update(load_solutions(nb)[0])
shown = subprocess.run(["git", "-C", str(root), "show", "HEAD:exercises/solutions/01_configuration.ipynb"],
                       capture_output=True, text=True)
print("ATTACK1 git", "LEAKED" if shown.returncode == 0 else "refused")
if "parse_duration" in stolen:
    print("ATTACK1 STOLE parse_duration")
    parse_duration = stolen["parse_duration"]
"""

SNOOP = """
import os, sys, pathlib
from etl_lib.exercises.grader import load_solutions
mine = pathlib.Path(sys.argv[sys.argv.index("observe") + 1])
klass, out = mine.parent, pathlib.Path(os.environ["DATA_DIR"]).parents[1]
print("ATTACK2 class", sorted(p.name for p in klass.iterdir()))
print("ATTACK2 out", sorted(str(p.relative_to(out)) for p in out.rglob("*")))
for path in (out / "logs" / "ana.txt", out / "reports" / "ana.jsonl", klass / "ana" / "03_nightly_file_pipeline.ipynb"):
    try:
        print("ATTACK2 READ", path.name, len(path.read_text()))
    except OSError as err:
        print("ATTACK2 refused", path.name, type(err).__name__)
for other in ("ana", "zoe"):
    try:
        bfd_buckets = load_solutions(klass / other / "03_nightly_file_pipeline.ipynb")[0]["bfd_buckets"]
        print("ATTACK2 STOLE", other)
    except Exception as err:
        print("ATTACK2 could not run", other, type(err).__name__)
"""

ENVIRONMENT = """
import glob, os
print("ATTACK3 names", " ".join(sorted(os.environ)))
print("ATTACK3 secret", os.environ.get("ETL_KIT_TEST_SECRET", "absent"))
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        if b"ETL_KIT_TEST_SECRET" in open(path, "rb").read():
            print("ATTACK3 LEAKED through", path)
    except OSError:
        pass
"""

# The child waits until the later student's grading has begun (their report holds its first line), then
# appends a forged failure to it and a line to its own report: either one is proof that it outlived its grading.
LURKER = """
import json, os, pathlib, sys, time
out = pathlib.Path(os.environ["DATA_DIR"]).parents[1]
channel = int(sys.argv[sys.argv.index("--channel") + 1])
first = os.fork()
if first == 0:
    os.setsid()
    if os.fork() == 0:
        target = out / "reports" / "zoe.jsonl"
        for _ in range(1200):
            time.sleep(0.05)
            try:
                if target.exists() and target.stat().st_size:
                    with open(target, "a") as f:
                        f.write(json.dumps({"event": "result", "name": "bfd_buckets", "status": "fail", "passed": 0,
                                            "total": 9, "failure": "FORGED", "notebook": "03_nightly_file_pipeline.ipynb",
                                            "failed_requirement": None}) + "\\n")
                    break
            except OSError:
                pass
        os.write(channel, (json.dumps({"event": "problem", "notebook": "x", "text": "SURVIVOR"}) + "\\n").encode())
        os._exit(0)
    os._exit(0)
os.waitpid(first, 0)
print("ATTACK4 left a child behind")
"""

FORK_BOMB = """
import os, time
forked, refused = 0, None
for _ in range(400):
    try:
        pid = os.fork()
    except OSError as err:
        refused = err
        break
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    forked += 1
print("ATTACK5 forked", forked, "refused:", refused)
"""

VANDAL = """
import os, pathlib, sys, etl_lib
kit = pathlib.Path(etl_lib.__file__).resolve()
targets = {"root": pathlib.Path("/"), "checkout": kit.parents[1], "kit": kit.parent, "venv": pathlib.Path(sys.prefix),
           "submission": pathlib.Path(sys.argv[sys.argv.index("observe") + 1]), "output": pathlib.Path(os.environ["DATA_DIR"]).parents[1],
           "class": pathlib.Path(sys.argv[sys.argv.index("observe") + 1]).parent}
for label, folder in targets.items():
    try:
        (folder / "PWNED-by-test_sandbox.txt").write_text("x")
        print("ATTACK6 wrote", label)
    except OSError as err:
        print("ATTACK6 refused", label, err.strerror)
"""

# The channel is the pipe the grading process sends its events to.  Forged events go first (the judge keeps the
# first observation of a case), again at exit, with a "done", a claimed result and a claimed pass.
FORGER = """
import atexit, json, os, sys
fd = int(sys.argv[sys.argv.index("--channel") + 1])
def forge():
    lines = [{"event": "observed", "notebook": "01_configuration.ipynb", "exercise": "parse_duration", "case": i,
              "observation": {"data": {"returned": 900}, "passed": True}} for i in range(40)]
    lines += [{"event": "observed-all", "notebook": "01_configuration.ipynb", "exercise": "parse_duration"},
              {"event": "result", "name": "parse_duration", "status": "pass", "passed": 16, "total": 16},
              {"event": "unanswered", "notebook": "01_configuration.ipynb", "exercise": "parse_duration",
               "status": "pass"}, {"event": "done"}]
    os.write(fd, "".join(json.dumps(e) + "\\n" for e in lines).encode())
    print("ATTACK8 forged", len(lines), "events")
forge()
atexit.register(forge)
"""

# Everything the grading process decides with, replaced in its own modules: blank is never blank, every case
# "passes", every result is a pass.
PATCHER = """
import sys
import etl_lib.exercises.grader as g
g.is_blank = lambda obj: False
g.observe_case = lambda case, solution: {"data": "PATCHED: passed"}
g.judge_case = lambda case, observation: None
g.judge_cases = lambda name, cases, seen, only=None: g.Result(name, "pass", len(cases), len(cases))
g.Verdicts.hear = lambda self, event: None
print("ATTACK9 patched", sorted(k for k in vars(g) if k in ("is_blank", "observe_case", "judge_case")))
"""

# OUTSIDE_PORT: a port the test listens on, on this machine's loopback, as a broker outside the sandbox would.
NETWORK = """
import socket
for host in ("127.0.0.1", "localhost"):
    try:
        socket.create_connection((host, OUTSIDE_PORT), timeout=5).close()
        print("ATTACK7 CONNECTED", host)
    except OSError as err:
        print("ATTACK7 refused", host, type(err).__name__)
"""

ATTACKERS = {  # student -> (notebook, attack); sorted between ana (first) and zoe (last)
    "att1-solutions": (CFG, STEAL_SOLUTIONS),
    "att2-snoop": (BFD, SNOOP),
    "att3-environment": (CFG, ENVIRONMENT),
    "att4-lurker": (CFG, LURKER),
    "att5-forkbomb": (CFG, FORK_BOMB),
    "att6-vandal": (CFG, VANDAL),
    "att7-network": (CFG, NETWORK),
    "att8-forger": (CFG, FORGER),
    "att9-patcher": (CFG, PATCHER),
}


def _honest(folder: Path) -> None:
    for name in (CFG, BFD):
        _notebook(SOLUTIONS / name, folder / name)


def _left_behind(marker: str) -> list[str]:
    """Command lines of live processes (not this one) that mention ``marker``."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd[:200]}")
    return found


def _grade_class(subs: Path, out: Path, env: dict, *extra: str) -> tuple[subprocess.CompletedProcess, int]:
    proc = subprocess.Popen([sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(subs), "--out", str(out),
                             "--timeout", "60", "--memory-mb", "2000", *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=240)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), proc.pid


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The attacking class graded in the sandbox, then zoe graded alone with --no-sandbox (her grade alone, and
    the marking of an unsandboxed gradebook): (rows, out, stdout, secret, processes left, cgroups left, zoe
    alone's rows, alone's out, alone's stdout, whether a connection reached the test's listener)."""
    _require_sandbox()
    base = tmp_path_factory.mktemp("attacked")
    subs = base / "class"
    _honest(subs / "ana")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    for student, (name, attack) in ATTACKERS.items():
        blank = ROOT / "exercises" / name
        _notebook(blank, subs / student / name, attack.replace("OUTSIDE_PORT", str(listener.getsockname()[1])))
    _honest(subs / "zoe")
    secret = secrets.token_hex(16)
    env = {**os.environ, "DATA_DIR": str(base / "data"), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
           "ETL_KIT_TEST_SECRET": secret}
    out = base / "out"
    try:
        done, pid = _grade_class(subs, out, env, "--jobs", "1", "--max-processes", str(LIMIT_PROCESSES))
        assert done.returncode == 0, done.stdout + done.stderr
        left = _left_behind(str(base))
        cgroups = [str(p) for p in Path("/sys/fs/cgroup").rglob(f"etl-kit-{pid}-*")]
        alone_subs, alone_out = base / "alone", base / "alone-out"
        _honest(alone_subs / "zoe")
        alone, _ = _grade_class(alone_subs, alone_out, env, "--no-sandbox")
        assert alone.returncode == 0, alone.stdout + alone.stderr
        try:  # a connection the kernel completed waits here, accepted or not
            listener.accept()[0].close()
            reached = True
        except BlockingIOError:
            reached = False
        yield (_rows(out), out, done.stdout, secret, left, cgroups, _rows(alone_out), alone_out, alone.stdout,
               reached)
    finally:
        listener.close()
        for folder in (ROOT, ROOT / "etl_lib", Path(sys.prefix)):  # only if the sandbox failed (the test then fails)
            (folder / "PWNED-by-test_sandbox.txt").unlink(missing_ok=True)


def _log(out: Path, student: str) -> str:
    return (out / "logs" / f"{student}.txt").read_text(encoding="utf-8")


def test_no_attacker_gets_a_pass_and_nothing_outlives_grade_class(attacked):
    rows, out, stdout, _, left, cgroups, *_ = attacked
    assert list(rows) == ["ana", *ATTACKERS, "zoe"]
    assert "Sandbox: bubblewrap" in stdout and "Limits: memory 2,000 MB" in stdout
    for student in ATTACKERS:
        assert rows[student]["passed"] == "0", (student, rows[student])
        assert rows[student]["sandbox"] == "bubblewrap"
    assert rows["ana"]["passed"] == rows["zoe"]["passed"] == "3"
    assert not left, f"processes outlived grade-class: {left}"
    assert not cgroups, f"cgroups left behind: {cgroups}"


def test_the_solutions_are_not_in_the_sandbox(attacked):
    rows, out, *_ = attacked
    log = _log(out, "att1-solutions")
    assert rows["att1-solutions"]["parse_duration"] == "blank"
    for part in ("exercises/solutions", "exercises/mutants", "exercises/source", ".git", "tests"):
        assert f"ATTACK1 {part} absent" in log, log
    assert "ATTACK1 git refused" in log and "STOLE" not in log


def test_no_other_submission_nor_the_class_output_is_visible(attacked):
    rows, out, *_ = attacked
    log = _log(out, "att2-snoop")
    assert rows["att2-snoop"]["bfd_buckets"] == "blank"
    assert "ATTACK2 class ['att2-snoop']" in log, log  # the class folder shows only its own submission
    # The output folder shows only its own work folder (as the mount point of the sandbox).
    assert "ATTACK2 out ['work', 'work/att2-snoop']" in log, log
    assert "READ" not in log and "STOLE" not in log
    assert log.count("ATTACK2 refused") == 3 and log.count("ATTACK2 could not run") == 2


def test_the_instructors_environment_is_not_passed(attacked):
    rows, out, _, secret, *_ = attacked
    log = _log(out, "att3-environment")
    assert secret not in log and "ATTACK3 secret absent" in log and "LEAKED" not in log
    names = set(next(line for line in log.splitlines() if line.startswith("ATTACK3 names")).split()[2:])
    assert "HOME" in names and "DATA_DIR" in names and "PATH" in names
    assert not {"ETL_KIT_TEST_SECRET", "PYENV_ROOT", "SSL_CERT_FILE", "SHELL", "OLDPWD"} & names
    # PWD: bwrap sets it to the folder it starts the command in (the work folder).
    assert all(n in {"PATH", "LANG", "LANGUAGE", "TZ", "JAVA_HOME", "PYTHONUNBUFFERED", "HOME", "TMPDIR", "PWD",
                     "PYTHONDONTWRITEBYTECODE"} or n.startswith(("LC_", "SPARK_", "PYSPARK_", "KAFKA_"))
               or n in load_settings().as_env() for n in names), names


def test_a_double_forked_child_dies_with_its_grading_and_the_later_student_keeps_their_grade(attacked):
    rows, out, _, _, _, _, alone, alone_out, *_ = attacked
    assert "ATTACK4 left a child behind" in _log(out, "att4-lurker")
    assert "SURVIVOR" not in (out / "reports" / "att4-lurker.jsonl").read_text()
    assert "FORGED" not in (out / "reports" / "zoe.jsonl").read_text()
    # zoe's row is the one she gets alone, but for the time, the memory and the sandbox.
    volatile = {"seconds", "peak_memory_mb", "sandbox"}
    assert {k: v for k, v in rows["zoe"].items() if k not in volatile} == {
        k: v for k, v in alone["zoe"].items() if k not in volatile}

    def observed(where: Path) -> list[dict]:
        return [e for e in map(json.loads, (where / "reports" / "zoe.jsonl").read_text().splitlines())
                if e["event"] == "observed"]

    assert observed(out) == observed(alone_out) and observed(out)


def test_forged_events_and_a_patched_grader_reach_no_grade(attacked):
    """The student's process can say anything on its channel and change anything in its own grader: grade-class
    judges each case itself, so neither gets a pass (issue 36, item 1)."""
    rows, out, *_ = attacked
    assert "ATTACK8 forged 44 events" in _log(out, "att8-forger")
    assert "ATTACK9 patched ['is_blank', 'judge_case', 'observe_case']" in _log(out, "att9-patcher")
    forged, patched = rows["att8-forger"], rows["att9-patcher"]
    assert forged["parse_duration"] == "fail" and forged["outcome"] == "graded", forged
    assert patched["parse_duration"] == "fail" and patched["outcome"] == "graded", patched
    # Judged here: the forged observations (900 seconds for every input) and the patched one each fail.
    assert "problem: returned 900, expected 86400" in _log(out, "att8-forger")  # the smallest case: '1 day'
    assert "problem: what the code did could not be judged" in _log(out, "att9-patcher")
    sent = (out / "reports" / "att9-patcher.jsonl").read_text()
    assert "PATCHED: passed" in sent and '"status": "pass"' not in sent


def test_a_fork_bomb_is_stopped(attacked):
    rows, out, stdout, *_ = attacked
    log = _log(out, "att5-forkbomb")
    assert rows["att5-forkbomb"]["parse_duration"] != "pass"
    if "held by the kernel" in stdout:  # cgroup pids.max in force: the kernel refuses the forks
        forked = int(log.split("ATTACK5 forked ")[1].split()[0])
        assert forked < LIMIT_PROCESSES and "Resource temporarily unavailable" in log, log
        assert f"more than {LIMIT_PROCESSES} processes and threads" in rows["att5-forkbomb"]["note"]
    # Either way, every child ends with the grading (the PID namespace): see the test above, which finds none.


def test_nothing_outside_the_work_folder_is_writable(attacked):
    rows, out, *_ = attacked
    log = _log(out, "att6-vandal")
    # A checkout under /tmp (a CI clone) is not bound as a whole: its folder there lies in the private tmpfs
    # (checked on the disk below); everywhere else it is part of the read-only root.
    under_tmp = ROOT.resolve().is_relative_to("/tmp")
    for label in ("root", "kit", "venv", "submission", *(() if under_tmp else ("checkout",))):
        assert f"ATTACK6 refused {label} Read-only file system" in log, log
    assert not (ROOT / "PWNED-by-test_sandbox.txt").exists()
    # The class and its output folder lie under /tmp here, which in the sandbox is a private tmpfs: a write
    # there may succeed, but lands in memory that ends with the sandbox, never on this machine's disk.
    assert not list(out.parent.rglob("PWNED-by-test_sandbox.txt"))
    assert not (ROOT / "PWNED-by-test_sandbox.txt").exists() and not (ROOT / "etl_lib" / "PWNED-by-test_sandbox.txt").exists()


def test_no_port_of_this_machine_is_reachable(attacked):
    """The sandbox's network namespace holds only its own loopback: a port this machine listens on (as the
    instructor's broker, another student's, any local service) is refused by the kernel."""
    rows, out, *_, reached = attacked
    log = _log(out, "att7-network")
    assert "ATTACK7 refused 127.0.0.1 ConnectionRefusedError" in log, log
    assert "ATTACK7 refused localhost" in log and "CONNECTED" not in log, log
    assert not reached, "a connection from the sandbox reached the test's listener"


def test_the_class_brokers_address_and_login_stay_outside():
    """In the sandbox Kafka is the student's own broker at a fixed address; the class's address, protocol and
    login (a password) are not passed in; the kit's other Kafka settings (topic names) are."""
    outside = {"PATH": "/usr/bin", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:29092",
               "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN",
               "KAFKA_SASL_USERNAME": "instructor", "KAFKA_SASL_PASSWORD": "s3cret", "KAFKA_SSL_CA_FILE": "/ca.pem",
               "KAFKA_TOPIC_BIKE": "bikes-2026"}
    inside = sandbox_env(outside, load_settings())
    assert inside["KAFKA_BOOTSTRAP_SERVERS"] == SANDBOX_BOOTSTRAP == "127.0.0.1:9092"
    assert not {"KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD",
                "KAFKA_SSL_CA_FILE"} & set(inside)
    assert "s3cret" not in inside.values() and inside["KAFKA_TOPIC_BIKE"] == "bikes-2026"
    assert load_settings(inside).kafka_security_protocol == "PLAINTEXT"


def test_no_sandbox_marks_every_row(attacked):
    *_, alone, alone_out, alone_stdout, _ = attacked
    assert "Sandbox: none (--no-sandbox)" in alone_stdout
    assert [r["sandbox"] for r in alone.values()] == ["none"]
    page = (alone_out / "gradebook.html").read_text(encoding="utf-8")
    assert "unsandboxed" in page and "1 of 1 students graded unsandboxed" in page


def test_without_a_cgroup_the_namespace_still_ends_every_process_and_memory_is_watched(tmp_path):
    """Where the kit may create no cgroup (a cgroup v2 machine without delegation), the sandbox lists a student's
    processes by its PID namespace: the lurker's child still dies with its grading, a memory hog is stopped by
    the poll of /proc, and the honest student after them is graded as usual."""
    from etl_lib.exercises import classroom

    _require_sandbox()
    settings = load_settings({"DATA_DIR": str(tmp_path / "data"), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    sandbox = find_sandbox(settings, memory_mb=800)
    sandbox.limits, sandbox.why_no_limits = None, "switched off by the test"
    subs = tmp_path / "class"
    _notebook(ROOT / "exercises" / CFG, subs / "att4-lurker" / CFG, LURKER)
    _notebook(ROOT / "exercises" / CFG, subs / "hog" / CFG, "hog = [b'x' * 10**8 for _ in range(30)]")
    _honest(subs / "zoe")
    found, _ = classroom.find_submissions(subs)
    rows = {r.student: r for r in classroom.grade_class(found, tmp_path / "out", settings, timeout=60, memory_mb=800,
                                                          sandbox=sandbox, echo=lambda line: None)}
    assert not _left_behind(str(tmp_path))
    assert "SURVIVOR" not in (tmp_path / "out" / "reports" / "att4-lurker.jsonl").read_text()
    assert (rows["hog"].outcome, rows["hog"].status("parse_duration")) == ("memory", "memory")
    assert "over the 800 MB limit" in rows["hog"].notes[-1] and rows["hog"].peak_mb > 800
    assert (rows["zoe"].outcome, rows["zoe"].passed(), rows["zoe"].sandbox) == ("graded", 3, "bubblewrap")
    assert 0 < rows["zoe"].peak_mb < 800  # the namespace's processes were found and measured


# ----------------------------------------------------------------------------- refusals
def _one_student(tmp_path: Path) -> Path:
    subs = tmp_path / "class"
    _notebook(SOLUTIONS / BFD, subs / "ana" / BFD)
    return subs


def test_without_bwrap_grade_class_refuses_with_one_message(tmp_path):
    subs = _one_student(tmp_path)
    env = {**os.environ, "PATH": str(tmp_path / "no-bin"), "DATA_DIR": str(tmp_path / "data"),
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(subs), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error:\ngrade-class runs each student's code") and done.stderr.count("\n") == 2
    assert "bubblewrap (`bwrap`) is not installed" in done.stderr and "apt-get install bubblewrap" in done.stderr
    assert "--no-sandbox" in done.stderr and not (tmp_path / "out").exists()


def test_without_user_namespaces_grade_class_refuses_with_one_message(tmp_path):
    """grade-class inside a sandbox that allows no further user namespace (as `user.max_user_namespaces=0`
    would): its trial run of bwrap fails, and the message names user namespaces and the fixes."""
    _require_sandbox()
    subs = _one_student(tmp_path)
    outer = [shutil.which("bwrap"), "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-user",
             "--unshare-pid", "--disable-userns", "--die-with-parent", "--"]
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run([*outer, sys.executable, "-m", "etl_lib", "exercises", "grade-class", str(subs), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Error:\ngrade-class runs each student's code") and done.stderr.count("\n") == 2
    assert "refuses bubblewrap a user namespace" in done.stderr and "user.max_user_namespaces" in done.stderr
    assert "--no-sandbox" in done.stderr
