"""The nightly file pipeline of seed 000: fake files, best-fit-decreasing buckets, bucket workers.

::

    create_fake_files ──> bfd_buckets(capacity) ──> Queue ──> bucket_worker x N ──> process_one_bucket
                          (O(n log n); oversize                  (retry, then record      (tar.gz + manifest,
                           files get their own bucket)            the failure)             verified)
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import io
import json
import math
import os
import queue
import random
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ._common import JsonLinesSink, Metrics, drain_queue, stop_workers
from .retry import failure_reason, retry_with_backoff

__all__ = [
    "FileInfo",
    "Bucket",
    "create_fake_files",
    "bfd_buckets",
    "l2_lower_bound",
    "optimal_bucket_count",
    "process_one_bucket",
    "bucket_worker",
    "init_file_metrics",
    "run_file_pipeline",
    "lognormal_sizes",
]

MiB = 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int


@dataclass(slots=True)
class Bucket:
    """Files packed together; ``oversize`` marks a single file larger than the capacity."""

    index: int
    files: list[Any] = field(default_factory=list)
    size: int = 0
    oversize: bool = False

    def fill_ratio(self, capacity: int) -> float:
        return self.size / capacity


# ---------------------------------------------------------------------- fake files
def lognormal_sizes(n: int, seed: int = 42, median_bytes: int = MiB, sigma: float = 1.1) -> list[int]:
    """``n`` file sizes from a log-normal spread: mostly around the median, a long tail of big ones.

    With the defaults about 2% of files are larger than 10 MiB.
    """
    rng = random.Random(seed)
    mu = math.log(median_bytes)
    return [max(1, int(rng.lognormvariate(mu, sigma))) for _ in range(n)]


def create_fake_files(
    n: int, seed: int = 42, directory: Path | str = "data/incoming", *, median_bytes: int = MiB,
    sigma: float = 1.1,
) -> list[FileInfo]:
    """Write ``n`` real files of log-normal sizes (some larger than a bucket) and return them.

    Contents look like log lines, so they compress the way real logs do.  The
    same seed gives the same names, sizes and bytes.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    # One block of pseudo-log text, reused: building every byte from the RNG would be slow.
    words = ["GET", "POST", "/api/trips", "/api/stations", "200", "404", "503", "bike", "taxi", "ms"]
    block = "".join(
        f"2018-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z "
        f"{' '.join(rng.choice(words) for _ in range(6))} {rng.randint(1, 9999)}\n"
        for _ in range(2000)
    ).encode()
    files = []
    for i, size in enumerate(lognormal_sizes(n, seed, median_bytes, sigma)):
        path = directory / f"file_{i:05d}.log"
        header = f"# fake file {i} seed {seed}\n".encode()
        with open(path, "wb") as f:
            remaining = size
            f.write(header[:remaining])
            remaining -= min(len(header), remaining)
            offset = (i * 7919) % len(block)
            while remaining > 0:
                chunk = block[offset:offset + remaining]
                f.write(chunk)
                remaining -= len(chunk)
                offset = 0
        files.append(FileInfo(path, size))
    return files


# ---------------------------------------------------------------------- bucketing
class _SortedInts:
    """A sorted multiset of ints in chunks of about ``LOAD``, with each chunk's maximum in ``maxes``.

    A plain sorted list costs O(n) per insert (a memmove); at a million items
    that dominates.  Chunks keep each insert and delete short, and every search
    is a C bisect: first over the maxima, then inside one chunk.  (The same idea
    as ``sortedcontainers.SortedList``; the packing loop works on ``lists`` and
    ``maxes`` directly, because a method call per file costs more than the search.)
    """

    LOAD = 512

    def __init__(self) -> None:
        self.lists: list[list[int]] = []
        self.maxes: list[int] = []

    def extend_sorted(self, values: list[int]) -> None:
        """Append values that are all >= every value already present, in ascending order."""
        for i in range(0, len(values), self.LOAD):
            chunk = values[i:i + self.LOAD]
            self.lists.append(chunk)
            self.maxes.append(chunk[-1])


def _largest_first(arr: Any) -> Any:
    """Indices of ``arr`` by size, largest first, ties in input order (what a stable argsort of -arr gives).

    Sorting one unique int64 key per file (size rank, then index) is faster than
    numpy's stable argsort; it falls back to that when the key would overflow.
    """
    import numpy as np

    n = len(arr)
    if n == 0:
        return np.arange(0)
    top = int(arr.max())
    if (top - int(arr.min()) + 1) * n >= 1 << 62:
        return np.argsort(-arr, kind="stable")
    return np.sort((top - arr) * n + np.arange(n, dtype=np.int64)) % n


def _size(item: Any) -> int:
    return item if isinstance(item, int) else item.size


def bfd_buckets(files: Iterable[Any], capacity: int) -> list[Bucket]:
    """Pack files into buckets of at most ``capacity`` bytes, best-fit decreasing, in O(n log n).

    Files are taken largest first; each goes into the open bucket it fills most
    tightly (the smallest remaining space that still fits), or a new bucket.  A
    file larger than ``capacity`` gets a bucket of its own flagged ``oversize``;
    it is never dropped.  ``files`` may be ints (sizes) or objects with ``.size``.

    >>> [b.size for b in bfd_buckets([6, 5, 4, 3, 2], capacity=10)]
    [10, 10]
    >>> [(b.size, b.oversize) for b in bfd_buckets([12, 3], capacity=10)]
    [(12, True), (3, False)]
    """
    if capacity <= 0:
        raise ValueError(f"capacity must be positive, got {capacity}")
    # Packing allocates a list per bucket and nothing that can form a reference cycle; with the
    # cyclic collector on, those allocations trigger full scans of every list made so far (a third
    # of the time at a million files).  Reference counting still frees everything as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _bfd(files, capacity)
    finally:
        if was_enabled:
            gc.enable()


def _bfd(files: Iterable[Any], capacity: int) -> list[Bucket]:
    items = list(files)
    plain = all(type(f) is int for f in items)  # sizes only: each item is its own size
    sizes = items if plain else [_size(f) for f in items]
    import numpy as np

    arr = np.asarray(sizes, dtype=np.int64)
    if len(arr) and arr.min() < 0:
        raise ValueError("file sizes cannot be negative")
    order_np = _largest_first(arr)
    order = order_np.tolist()
    # Buckets as two parallel lists (files, used bytes) while packing: a million
    # attribute updates on objects cost more than the search itself.
    files_of: list[list[Any]] = []
    used: list[int] = []
    # An open bucket is the key remaining * SHIFT + index: one int compare orders
    # by remaining space, then by age, so ties go to the oldest bucket.
    shift = 1 << 32
    mask = shift - 1
    half = capacity / 2
    pos = 0
    n = len(order)
    while pos < n and sizes[order[pos]] > capacity:
        i = order[pos]
        files_of.append([items[i]])
        used.append(sizes[i])
        pos += 1
    n_oversize = pos
    # A file over half the capacity never fits beside an earlier (larger) one:
    # it opens a bucket, and those remaining spaces come out ascending.
    big_keys = []
    while pos < n and sizes[order[pos]] > half:
        i = order[pos]
        big_keys.append((capacity - sizes[i]) * shift + len(used))
        files_of.append([items[i]])
        used.append(sizes[i])
        pos += 1
    free = _SortedInts()
    free.extend_sorted(sorted(big_keys))
    lists, maxes = free.lists, free.maxes
    split_at = 2 * free.LOAD
    bisect_left, insort = bisect.bisect_left, bisect.insort
    rest_sizes = arr[order_np[pos:]].tolist()
    # Plain int sizes are their own items: no second gather.
    rest_items = rest_sizes if plain else [items[i] for i in order[pos:]]
    for s, item in zip(rest_sizes, rest_items):
        x = s * shift
        c = bisect_left(maxes, x)
        if c == len(maxes):  # no open bucket has room: open one
            key = (capacity - s) * shift + len(used)
            files_of.append([item])
            used.append(s)
        else:  # the tightest fit: the smallest remaining space >= s
            chunk = lists[c]
            j = bisect_left(chunk, x)
            old = chunk[j]
            key = old - x
            b = old & mask
            files_of[b].append(item)
            used[b] += s
            if (chunk[j - 1] <= key) if j else (not c or maxes[c - 1] <= key):
                chunk[j] = key  # still in order where it was: no move
                if j == len(chunk) - 1:
                    maxes[c] = key
                continue
            del chunk[j]
            if not chunk:
                del lists[c]
                del maxes[c]
            elif j == len(chunk):
                maxes[c] = chunk[-1]
        # Insert key (the inlined _SortedInts.add: this loop runs once per file).
        if not maxes:
            lists.append([key])
            maxes.append(key)
            continue
        c = bisect_left(maxes, key)
        if c == len(maxes):
            c -= 1
            lists[c].append(key)
            maxes[c] = key
        else:
            insort(lists[c], key)
        chunk = lists[c]
        if len(chunk) > split_at:
            h = len(chunk) // 2
            lists[c:c + 1] = [chunk[:h], chunk[h:]]
            maxes[c:c + 1] = [chunk[h - 1], chunk[-1]]
    return [Bucket(k, f, u, k < n_oversize) for k, (f, u) in enumerate(zip(files_of, used))]


def l2_lower_bound(sizes: Sequence[int], capacity: int) -> int:
    """Martello and Toth's L2 lower bound on the number of bins, plus one per oversize item.

    For each threshold a <= C/2: items over C-a need a bin each; items in
    (C/2, C-a] need a bin each too; items in [a, C/2] must fit in the space
    those leave, or open ceil(excess / C) more bins.  L2 is the best such bound.
    """
    import numpy as np

    arr = np.asarray(sizes, dtype=np.int64)
    oversize = int((arr > capacity).sum())
    arr = np.sort(arr[(arr <= capacity) & (arr > 0)])
    if arr.size == 0:
        return oversize
    prefix = np.concatenate(([0], np.cumsum(arr)))
    n = arr.size

    def count_gt(x: np.ndarray | float) -> np.ndarray:
        return n - np.searchsorted(arr, x, side="right")

    def sum_gt(x: np.ndarray | float) -> np.ndarray:
        return prefix[n] - prefix[np.searchsorted(arr, x, side="right")]

    half = capacity / 2
    alphas = np.unique(np.concatenate(([0], arr[arr <= half])))
    n1 = count_gt(capacity - alphas)
    n2 = count_gt(half) - n1
    s2 = sum_gt(half) - sum_gt(capacity - alphas)
    # items in [alpha, C/2]
    s3 = (prefix[np.searchsorted(arr, half, side="right")] - prefix[np.searchsorted(arr, alphas, side="left")])
    excess = s3 - (n2 * capacity - s2)
    extra = np.where(excess > 0, -(-excess // capacity), 0)
    return int((n1 + n2 + extra).max()) + oversize


def optimal_bucket_count(sizes: Sequence[int], capacity: int) -> int:
    """The fewest buckets possible, by exhaustive search (for small inputs, n <= ~14)."""
    items = sorted((s for s in sizes if s <= capacity), reverse=True)
    oversize = sum(1 for s in sizes if s > capacity)
    best = len(items)

    def place(k: int, loads: list[int]) -> None:
        nonlocal best
        if len(loads) >= best:
            return
        if k == len(items):
            best = len(loads)
            return
        s = items[k]
        seen = set()
        for b, load in enumerate(loads):
            if load + s <= capacity and load not in seen:
                seen.add(load)
                loads[b] += s
                place(k + 1, loads)
                loads[b] -= s
        loads.append(s)
        place(k + 1, loads)
        loads.pop()

    place(0, [])
    return best + oversize


# ---------------------------------------------------------------------- processing
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def process_one_bucket(bucket: Bucket, out_dir: Path | str) -> dict[str, Any]:
    """Pack the bucket's files into one ``.tar.gz`` with a manifest, then verify it.

    The manifest lists each file's name, size and SHA-256.  Verification reads
    the archive back and checks every member against the manifest.  The archive
    is written under a temporary name and renamed at the end, so a failed or
    retried attempt never leaves a half-written archive behind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"bucket_{bucket.index:05d}.tar.gz"
    partial = final.with_name(final.name + ".partial")
    manifest = [
        {"name": Path(f.path).name, "size": Path(f.path).stat().st_size, "sha256": _sha256(Path(f.path))}
        for f in bucket.files
    ]
    data = json.dumps({"bucket": bucket.index, "oversize": bucket.oversize, "files": manifest}, indent=1).encode()
    try:
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            info = tarfile.TarInfo("MANIFEST.json")
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
            for f in bucket.files:
                tar.add(str(f.path), arcname=Path(f.path).name)
        _verify_archive(partial, manifest)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed attempt leaves nothing half-written behind
        raise
    return {"archive": str(final), "files": len(manifest), "bytes_in": sum(m["size"] for m in manifest),
            "bytes_out": final.stat().st_size}


def _verify_archive(path: Path, manifest: list[dict[str, Any]]) -> None:
    expected = {m["name"]: m for m in manifest}
    seen = set()
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if member.name == "MANIFEST.json":
                continue
            f = tar.extractfile(member)
            if f is None or member.name not in expected:
                raise ValueError(f"{path.name}: unexpected member {member.name}")
            h = hashlib.sha256()
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
            want = expected[member.name]
            if member.size != want["size"] or h.hexdigest() != want["sha256"]:
                raise ValueError(f"{path.name}: {member.name} does not match its manifest entry")
            seen.add(member.name)
    if seen != set(expected):
        raise ValueError(f"{path.name}: missing members {sorted(set(expected) - seen)}")


def init_file_metrics() -> Metrics:
    """The file pipeline's counters, all starting at zero (fill ratios are sampled per bucket)."""
    return Metrics(files=0, bytes=0, buckets=0, buckets_ok=0, buckets_failed=0, oversize=0, retries=0,
                   bytes_archived=0)


def bucket_worker(
    worker_id: int,
    work_queue: "queue.Queue[Bucket]",
    metrics: Metrics,
    stop_event: threading.Event,
    process_one_bucket: Callable[[Bucket], dict[str, Any]],
    failures: JsonLinesSink,
    *,
    capacity: int,
    max_attempts: int = 3,
    base_delay: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Process buckets until ``stop_event`` is set and the queue is empty; retry, then record failures."""
    rng = random.Random(worker_id)

    def handle(bucket: Bucket) -> None:
        try:
            result = retry_with_backoff(lambda: process_one_bucket(bucket), max_attempts=max_attempts,
                                        base_delay=base_delay, sleep=sleep, rng=rng,
                                        on_retry=lambda *_: metrics.inc("retries"))
        except Exception as exc:  # noqa: BLE001 - recorded with the bucket's files
            failures.write([{"bucket": bucket.index, "reason": failure_reason(exc),
                             "files": [str(f.path) for f in bucket.files]}])
            metrics.inc("buckets_failed")
        else:
            metrics.inc("buckets_ok")
            metrics.inc("bytes_archived", result["bytes_out"])
            if not bucket.oversize:  # an oversize bucket is over 100% by definition, not a packing result
                metrics.observe("bucket_fill_ratio", round(bucket.size / capacity, 4))

    drain_queue(work_queue, stop_event, handle)


def run_file_pipeline(
    n_files: int,
    out_dir: Path | str,
    *,
    capacity: int = 10 * MiB,
    workers: int = 10,
    queue_size: int = 50,
    seed: int = 42,
    median_bytes: int = MiB,
    process: Callable[[Bucket, Path], dict[str, Any]] | None = None,
    metrics: Metrics | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Generate ``n_files``, bucket them, archive every bucket with ``workers`` threads; return the metrics.

    Buckets are fed to the queue while the workers run (the seed filled the
    queue first, which blocks for ever once there are more buckets than queue
    slots).  ``stop`` (Ctrl+C) stops feeding new buckets; those not fed are
    listed in the failures file as not processed.
    """
    out = Path(out_dir)
    metrics = metrics if metrics is not None else init_file_metrics()
    files = create_fake_files(n_files, seed, out / "incoming", median_bytes=median_bytes)
    buckets = bfd_buckets(files, capacity)
    metrics.inc("files", len(files))
    metrics.inc("bytes", sum(f.size for f in files))
    metrics.inc("buckets", len(buckets))
    metrics.inc("oversize", sum(b.oversize for b in buckets))
    failures = JsonLinesSink(out / "bucket_failures.jsonl")
    archive_dir = out / "archives"
    process = process or process_one_bucket
    work_queue: "queue.Queue[Bucket]" = queue.Queue(maxsize=queue_size)
    stop_event = threading.Event()
    threads = [
        threading.Thread(target=bucket_worker, name=f"bucket-worker-{i + 1}",
                         args=(i + 1, work_queue, metrics, stop_event, lambda b: process(b, archive_dir), failures),
                         kwargs={"capacity": capacity})
        for i in range(workers)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    try:
        for k, bucket in enumerate(buckets):
            if stop is not None and stop.is_set():
                failures.write([{"bucket": b.index, "reason": "not processed: stopped before it was queued",
                                 "files": [str(f.path) for f in b.files]} for b in buckets[k:]])
                metrics.inc("buckets_failed", len(buckets) - k)
                break
            work_queue.put(bucket)
    finally:
        work_queue.join()
        stop_workers(work_queue, stop_event, threads)
    snap = metrics.snapshot()
    fills = metrics.samples("bucket_fill_ratio")
    snap["mean_fill_ratio"] = round(sum(fills) / len(fills), 4) if fills else None
    snap["l2_lower_bound"] = l2_lower_bound([f.size for f in files], capacity)
    snap["wall_seconds"] = round(time.perf_counter() - t0, 3)
    snap["failures_file"] = str(failures.path)
    return snap
