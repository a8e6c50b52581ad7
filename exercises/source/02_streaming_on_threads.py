# %% [markdown]
# # Exercises 02 · Streaming on threads
#
# Practice for [notebook 02](../notebooks/02_streaming_on_threads.ipynb). Write your code in the cells marked ✏️
# (each must run on its own: keep its imports in it), then run the check cell below it.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `retry_with_backoff` with full jitter
#
# Call `fn()` and return its result. If it raises, wait and call again, up to `attempts` calls in all; after the
# last failed call, re-raise that error. The wait before retry k (k = 0 for the first retry) is
# `rng() * min(cap, base * 2**k)`: exponential, capped, and scaled by a random share ("full jitter", so that
# workers that failed together do not retry together). Use the `sleep` and `rng` you are given (the grader passes
# fakes to see your waits).

# %% tags=["exercise"]
# ✏️ your code
import random
import time


def retry_with_backoff(fn, attempts=5, base=0.1, cap=2.0, sleep=time.sleep, rng=random.random):
    ### BEGIN SOLUTION
    for k in range(attempts):
        try:
            return fn()
        except Exception:
            if k == attempts - 1:
                raise
            sleep(rng() * min(cap, base * 2**k))
    ### END SOLUTION


# %%
check("retry_with_backoff", retry_with_backoff)

# %% [markdown]
# ## 2. `MinibatchCollector`: a window that closes on time
#
# The seed's consumer collects messages into 5-second minibatches. The kit's `minibatch_collector` (lesson 02)
# aligns its windows to the clock (`[0, 5)`, `[5, 10)`, ...); this exercise builds the other common design, a
# window that opens with its first item. Both close on time, by the clock, when no new item arrives. Write a class
# `MinibatchCollector(window)` driven by a clock the caller passes in:
#
# - `offer(now, item)`: add an item. A batch opens with its first item and lasts `window` seconds. If the open
#   batch is already due (`now >= opened + window`), close it first: return it, and the item opens the next one.
#   Return a list of closed batches (each a list of items), usually empty.
# - `tick(now)`: called by a timer even when nothing arrives; return the open batch if it is due (an idle window
#   still closes on time), else `[]`. Never return an empty batch.
# - `flush()`: at shutdown, return the open batch if it has items, so nothing is lost.

# %% tags=["exercise"]
# ✏️ your code
class MinibatchCollector:
    def __init__(self, window: float):
        ### BEGIN SOLUTION
        self.window = window
        self.items: list = []
        self.opened: float | None = None
        ### END SOLUTION

    def offer(self, now: float, item) -> list[list]:
        ### BEGIN SOLUTION
        closed = self.tick(now)
        if not self.items:
            self.opened = now
        self.items.append(item)
        return closed
        ### END SOLUTION

    def tick(self, now: float) -> list[list]:
        ### BEGIN SOLUTION
        if self.items and now >= self.opened + self.window:
            return self.flush()
        return []
        ### END SOLUTION

    def flush(self) -> list[list]:
        ### BEGIN SOLUTION
        batch, self.items, self.opened = self.items, [], None
        return [batch] if batch else []
        ### END SOLUTION


# %%
check("minibatch_collector", MinibatchCollector)


# %% [markdown]
# ## 3. `run_workers`: a bounded queue, worker threads and a clean stop
#
# The seed's pipeline in miniature. Process every item of `items` with `handle(item)` in `workers` threads:
#
# - put the items, from the calling thread, on a `queue.Queue(maxsize=queue_size)`: when the workers fall behind,
#   `put` blocks (backpressure), so at most about `queue_size` items wait;
# - each worker takes an item, calls `handle(item)` and counts it as `"ok"`, or as `"failed"` when `handle` raises
#   (a failure must not end the worker); it calls `task_done()` for every item it took, whatever happened;
# - the counts live in one dict `{"ok": ..., "failed": ...}` shared by the workers, so every update holds a
#   `threading.Lock`;
# - when every item is put, wait with `join()` on the queue, then stop the workers (one `None` per worker, or a
#   `threading.Event`) and `join()` every thread before you return the counts. No daemon threads, no `sleep`.

# %% tags=["exercise"]
# ✏️ your code
def run_workers(items, handle, workers=4, queue_size=5):
    ### BEGIN SOLUTION
    import queue
    import threading

    work = queue.Queue(maxsize=queue_size)
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

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
                    outcome = "failed"
                with lock:
                    counts[outcome] += 1
            finally:
                work.task_done()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for item in items:
        work.put(item)
    work.join()
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    return counts
    ### END SOLUTION


# %%
check("run_workers", run_workers)

# %% [markdown]
# ## 4. `cpu_map`: computing on more than one core
#
# Threads overlap waiting, not computing: CPython runs Python bytecode in one thread at a time (the global
# interpreter lock, GIL), so in [notebook 02](../notebooks/02_streaming_on_threads.ipynb) four threads doing
# pure-Python arithmetic kept about one core busy (the cells after *What threads overlap, and why the metrics need
# a lock*). Each process has an interpreter and a GIL of its own, so work split over worker processes can compute on
# several cores at once. Write `cpu_map(fn, items, workers)` that calls `fn(item)` for every item of `items` and
# returns the list of the results:
#
# - run the calls in worker processes, more than one of them, never in the calling process, and never more than
#   `workers` at once: a pool of `workers` processes (`concurrent.futures.ProcessPoolExecutor` or
#   `multiprocessing.Pool`), each process taking item after item;
# - return the results in the order of `items`, as `[fn(item) for item in items]` would, whatever order the workers
#   finish them in;
# - when `fn` raises for an item, `cpu_map` raises that error (its class and its message) in the caller;
# - stop the worker processes before you return (a `with` block around the pool does it).
#
# `fn` and every item reach the workers pickled, so `fn` must be a function defined at the top level of a module,
# as the grader's are, not a lambda nor a function defined inside another one.

# %% tags=["exercise"]
# ✏️ your code
def cpu_map(fn, items, workers):
    ### BEGIN SOLUTION
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
    ### END SOLUTION


# %%
check("cpu_map", cpu_map)
