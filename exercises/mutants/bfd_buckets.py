"""Wrong answers to exercise 03 `bfd_buckets`, one requirement broken in each."""


def _pack(sizes, capacity, *, order="decreasing", best=True, check=True, overfill=False):
    if check:
        too_big = [s for s in sizes if s > capacity]
        if too_big:
            raise ValueError(f"a file of {too_big[0]} bytes does not fit in a bucket of {capacity}")
    buckets, rooms = [], []
    indices = list(range(len(sizes)))
    if order == "decreasing":
        indices.sort(key=lambda i: -sizes[i])
    elif order == "ascending":
        indices.sort(key=lambda i: sizes[i])
    for i in indices:
        fits = [b for b, room in enumerate(rooms) if room >= sizes[i] or (overfill and room > 0)]
        if fits:
            b = min(fits, key=lambda b: rooms[b]) if best else fits[0]
        else:
            b = len(rooms)
            buckets.append([])
            rooms.append(capacity)
        buckets[b].append(i)
        rooms[b] -= sizes[i]
    return buckets


def first_fit(sizes, capacity):
    """Breaks "best-fit": each file goes into the first bucket it fits, not the tightest."""
    return _pack(sizes, capacity, best=False)


def ascending(sizes, capacity):
    """Breaks "decreasing": the files are taken smallest first."""
    return _pack(sizes, capacity, order="ascending")


def no_size_check(sizes, capacity):
    """Breaks "oversize": a file larger than a bucket gets a bucket of its own, silently over capacity."""
    return _pack(sizes, capacity, check=False)


def overfills(sizes, capacity):
    """Breaks "capacity": a file goes into any bucket with some room left, even if it overflows it."""
    return _pack(sizes, capacity, overfill=True)


def sizes_not_indices(sizes, capacity):
    """Breaks "indices": returns the sizes themselves in each bucket."""
    return [[sizes[i] for i in bucket] for bucket in _pack(sizes, capacity)]


MUTANTS = [("best-fit", first_fit), ("decreasing", ascending), ("oversize", no_size_check),
           ("capacity", overfills), ("indices", sizes_not_indices)]
