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


def _add_one(value: int) -> int:
    return value + 1


def count_with_threads(threads: int = 10, per_thread: int = 100_000, lock: bool = True) -> int:
    """Each thread adds 1 to a shared count ``per_thread`` times (read, a call, write); the final count.

    With ``lock`` the read and the write are one step under a :class:`threading.Lock`
    and the count is exact; without it, updates are lost whenever a thread switch
    falls between a thread's read and its write.
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

    time_threads(work, threads)
    return metrics["processed"]
