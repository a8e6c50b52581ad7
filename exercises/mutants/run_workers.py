"""Wrong answers to exercise 02 `run_workers`, one requirement broken in each."""

import queue
import threading
import time


def _pipeline(items, handle, workers, queue_size, *, daemon=False, bounded=True, lock=True, count_failures=True,
              start_first=True):
    work = queue.Queue(maxsize=queue_size if bounded else 0)
    counts = {"ok": 0, "failed": 0}
    guard = threading.Lock()

    def add(outcome):
        if lock:
            with guard:
                counts[outcome] += 1
        else:  # a read, a pause (another thread runs), a write: updates are lost
            seen = counts[outcome]
            time.sleep(0)
            counts[outcome] = seen + 1

    def worker():
        while True:
            item = work.get()
            try:
                if item is None:
                    return
                try:
                    handle(item)
                    outcome = "ok"
                except Exception:
                    outcome = "failed" if count_failures else "ok"
                add(outcome)
            finally:
                work.task_done()

    threads = [threading.Thread(target=worker, daemon=daemon) for _ in range(workers)]
    if start_first:
        for t in threads:
            t.start()
    for item in items:
        work.put(item)
    if not start_first:
        for t in threads:
            t.start()
    work.join()
    if daemon:
        return counts  # daemon workers are left behind, still waiting on the queue
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    return counts


def daemon_workers(items, handle, workers=4, queue_size=5):
    """Breaks "clean-stop": daemon workers, never stopped nor joined."""
    return _pipeline(items, handle, workers, queue_size, daemon=True)


def unbounded_queue(items, handle, workers=4, queue_size=5):
    """Breaks "backpressure": an unbounded queue, filled before the workers start."""
    return _pipeline(items, handle, workers, queue_size, bounded=False, start_first=False)


def no_lock(items, handle, workers=4, queue_size=5):
    """Breaks "lock": the counts are updated without the lock."""
    return _pipeline(items, handle, workers, queue_size, lock=False)


def failures_as_ok(items, handle, workers=4, queue_size=5):
    """Breaks "failures": an item whose handle raised is counted as ok."""
    return _pipeline(items, handle, workers, queue_size, count_failures=False)


def handles_in_caller(items, handle, workers=4, queue_size=5):
    """Breaks "every-item": handles the items in the calling thread and forgets to count them."""
    for item in items:
        try:
            handle(item)
        except Exception:
            pass
    return {"ok": 0, "failed": 0}


MUTANTS = [("clean-stop", daemon_workers), ("backpressure", unbounded_queue), ("lock", no_lock),
           ("failures", failures_as_ok), ("every-item", handles_in_caller)]
