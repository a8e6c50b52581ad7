"""Wrong answers to exercise 04 `share_partition`, one requirement broken in each."""


def _share(n_records, events, delivery_limit, *, count_at="acquire", answer_any=False, timeout_archives=False,
           release_resets=False, past_limit=False, renew_counts=False, start_at_available=False):
    states = {o: "available" for o in range(n_records)}
    deliveries = {o: 0 for o in range(n_records)}

    def give_back(o):
        if count_at == "release":
            deliveries[o] += 1
        at_limit = deliveries[o] > delivery_limit if past_limit else deliveries[o] >= delivery_limit
        states[o] = "archived" if at_limit else "available"
        if release_resets and states[o] == "available":
            deliveries[o] = 0

    for kind, o in events:
        if kind == "acquire":
            if states[o] == "available":
                states[o] = "acquired"
                if count_at == "acquire":
                    deliveries[o] += 1
        elif kind in ("accept", "reject") and answer_any:
            states[o] = "acknowledged" if kind == "accept" else "archived"
        elif states[o] != "acquired":
            continue
        elif kind == "accept":
            states[o] = "acknowledged"
        elif kind == "reject":
            states[o] = "archived"
        elif kind == "timeout" and timeout_archives:
            states[o] = "archived"
        elif kind in ("release", "timeout"):
            give_back(o)
        elif kind == "renew" and renew_counts:
            deliveries[o] += 1
    if start_at_available:
        start = next((o for o in range(n_records) if states[o] == "available"), n_records)
    else:
        start = next((o for o in range(n_records) if states[o] not in ("acknowledged", "archived")), n_records)
    return {"states": states, "deliveries": deliveries, "start": start}


def counts_at_release(n_records, events, delivery_limit=5):
    """Breaks "acquire": counts a delivery when the record comes back, not when the broker hands it out."""
    return _share(n_records, events, delivery_limit, count_at="release")


def answers_any_record(n_records, events, delivery_limit=5):
    """Breaks "ack": accept and reject settle any record, acquired or not."""
    return _share(n_records, events, delivery_limit, answer_any=True)


def timeout_archives(n_records, events, delivery_limit=5):
    """Breaks "release": an expired lock archives the record instead of giving it back."""
    return _share(n_records, events, delivery_limit, timeout_archives=True)


def release_resets_count(n_records, events, delivery_limit=5):
    """Breaks "release": a record given back starts again from delivery count 0."""
    return _share(n_records, events, delivery_limit, release_resets=True)


def archives_past_limit(n_records, events, delivery_limit=5):
    """Breaks "limit": archives only once the count is over delivery_limit, one delivery too many."""
    return _share(n_records, events, delivery_limit, past_limit=True)


def renew_counts(n_records, events, delivery_limit=5):
    """Breaks "renew": counts each renewal as one more delivery."""
    return _share(n_records, events, delivery_limit, renew_counts=True)


def start_at_first_available(n_records, events, delivery_limit=5):
    """Breaks "start": the start offset is the first available record, skipping the acquired ones."""
    return _share(n_records, events, delivery_limit, start_at_available=True)


MUTANTS = [("acquire", counts_at_release), ("ack", answers_any_record), ("release", timeout_archives),
           ("release", release_resets_count), ("limit", archives_past_limit), ("renew", renew_counts),
           ("start", start_at_first_available)]
