"""What Python threads overlap and what they break: the two experiments lesson 02 runs live.

CPython runs Python bytecode in one thread at a time (the global interpreter
lock); a thread that waits (sleep, a socket, a disk) lets the others run. So
threads overlap *waiting*, not *computing*: the seed's workers, which mostly wait
on I/O, gain from ten threads; pure-Python number crunching does not.

A shared counter updated as read, then write is a race: a thread switch in
between loses the other threads' updates. CPython 3.11 switches threads only at
calls and loop back-edges, so a bare ``d["n"] += 1`` practically never loses
one there (an interpreter detail, not a guarantee); any call between the read
and the write, as below, opens the window.

>>> count_with_threads(threads=2, per_thread=1000, lock=True)
2000
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable

__all__ = ["time_threads", "count_with_threads"]


def time_threads(work: Callable[[], object], threads: int) -> float:
    """Seconds for ``threads`` threads to each run ``work()`` once, started together and all joined."""
    pool = [threading.Thread(target=work, name=f"gil-demo-{i}") for i in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - t0


def cores_busy(work: Callable[[], object], threads: int) -> float:
    """How many cores ``threads`` threads running ``work()`` kept busy on average: the process's CPU time during
    the run divided by its wall time.  Computing threads under the GIL keep at most one busy (about 1.0, less on
    a loaded machine, never much more); threads that ran Python code in parallel would keep up to ``threads``.
    Unlike comparing wall times, a busy machine cannot push it the wrong way: load adds wall time, not CPU time."""
    cpu, wall = time.process_time(), time.perf_counter()
    time_threads(work, threads)
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def _add_one(value: int) -> int:
    return value + 1


def count_with_threads(threads: int = 10, per_thread: int = 100_000, lock: bool = True,
                       switch_interval: float | None = 1e-6) -> int:
    """Each thread adds 1 to a shared count ``per_thread`` times (read, a call, write); the final count.

    With ``lock`` the read and the write are one step under a :class:`threading.Lock`
    and the count is exact; without it, updates are lost whenever a thread switch
    falls between a thread's read and its write.  ``switch_interval``: while the
    threads run, CPython is asked to switch threads that often (``sys.setswitchinterval``;
    its default is 5 ms), so that the race shows on any machine; a fast, quiet machine
    at the default may finish each thread's loop between two switches and lose nothing
    in one run and thousands in the next.  None keeps the interpreter's interval.
    """
    metrics = {"processed": 0}
    guard = threading.Lock()

    def work() -> None:
        for _ in range(per_thread):
            if lock:
                with guard:
                    metrics["processed"] = _add_one(metrics["processed"])
            else:
                seen = metrics["processed"]
                metrics["processed"] = _add_one(seen)

    before = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    try:
        time_threads(work, threads)
    finally:
        sys.setswitchinterval(before)
    return metrics["processed"]
