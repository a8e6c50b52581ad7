"""Wrong answers to exercise 02 `cpu_map`, one requirement broken in each."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed


def threads(fn, items, workers):
    """Breaks "processes": a pool of threads, which share one GIL and compute one at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def as_they_finish(fn, items, workers):
    """Breaks "order": the results in the order the workers finish them."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in as_completed(futures)]


def process_per_item(fn, items, workers):
    """Breaks "workers": one process for every item, all started at once, whatever `workers` says."""
    results = multiprocessing.Queue()

    def run(i, item):
        try:
            results.put((i, fn(item), None))
        except Exception as err:
            results.put((i, None, err))

    started = [multiprocessing.get_context("fork").Process(target=run, args=(i, item))
               for i, item in enumerate(items)]
    for p in started:
        p.start()
    got = {i: (value, err) for i, value, err in (results.get() for _ in started)}
    for p in started:
        p.join()
    for i in range(len(items)):
        if got[i][1] is not None:
            raise got[i][1]
    return [got[i][0] for i in range(len(items))]


def swallows_errors(fn, items, workers):
    """Breaks "errors": an item whose call raised gets None; the error never reaches the caller."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn, item) for item in items]
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except Exception:
                out.append(None)
        return out


MUTANTS = [("processes", threads), ("order", as_they_finish), ("workers", process_per_item),
           ("errors", swallows_errors)]
