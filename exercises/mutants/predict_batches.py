"""Wrong answers to exercise 15 `predict_batches`, one requirement broken in each."""


def _predict(batches, window, delay, mode, *, emit="rule", close="runs-with", strict=False, late="previous",
             evict=True, newest="running", empty_mark="keep", complete_keeps=True):
    """A simulation with one knob per rule; the defaults are right, each wrong solution turns one knob."""
    def minute(text):
        hours, mins = text.split(":")
        return int(hours) * 60 + int(mins)

    def hhmm(m):
        return None if m is None else f"{m // 60:02d}:{m % 60:02d}"

    top, mark, ran_before, counts, out = None, None, None, {}, []
    for batch in batches:
        times = [minute(t) for t in batch]
        after = mark
        if times:
            top = max(times + ([top] if top is not None and newest == "running" else []))
            after = top - delay
        elif empty_mark == "none":
            after = None
        keeps = mode == "complete" and complete_keeps
        changed = set()
        for t in times:
            start = t - t % window
            if not keeps and (late == "previous" and ran_before is not None and start + window <= ran_before
                              or late == "current" and mark is not None and start + window <= mark
                              or late == "event-time" and ran_before is not None and t <= ran_before):
                continue
            counts[start] = counts.get(start, 0) + 1
            changed.add(start)
        by = mark if close == "runs-with" else after
        closed = {s for s in counts if by is not None and (s + window < by if strict else s + window <= by)}
        if mode == "append":
            shown = changed if emit == "changed" else closed
        elif mode == "update":
            shown = set(counts) if emit == "all" else changed
        else:
            shown = set(counts)
        rows = [(hhmm(s), counts[s]) for s in sorted(shown) if s in counts]
        if evict and not keeps:
            for s in closed:
                del counts[s]
        out.append({"rows": rows, "watermark": hhmm(after), "state": len(counts)})
        ran_before, mark = mark, (after if after is not None or empty_mark != "none" else mark)
    return out


def append_emits_changes(batches, window, delay, mode):
    """Breaks "append": append mode emits every window the batch changed, before it is final (update's rule)."""
    return _predict(batches, window, delay, mode, emit="changed")


def closes_with_its_own_watermark(batches, window, delay, mode):
    """Breaks "append": a batch closes the windows its own events' watermark reaches (one batch early)."""
    return _predict(batches, window, delay, mode, close="after")


def closes_only_past_the_end(batches, window, delay, mode):
    """Breaks "append": a window closes only when the watermark is past its end, not when it reaches it."""
    return _predict(batches, window, delay, mode, strict=True)


def no_late_drop(batches, window, delay, mode):
    """Breaks "late": no row is ever dropped; a row of a closed window opens it again."""
    return _predict(batches, window, delay, mode, late="never")


def late_by_this_batchs_watermark(batches, window, delay, mode):
    """Breaks "late": a row is judged by the watermark this batch runs with (the guide's reading before Spark 3.4),
    so a row whose window closes in this batch is dropped."""
    return _predict(batches, window, delay, mode, late="current")


def late_by_event_time(batches, window, delay, mode):
    """Breaks "late": a row at or behind the previous batch's watermark is dropped, whatever its window (dedup's
    rule, not the window's)."""
    return _predict(batches, window, delay, mode, late="event-time")


def update_emits_everything(batches, window, delay, mode):
    """Breaks "update": update mode emits every window held, changed or not (complete's rule)."""
    return _predict(batches, window, delay, mode, emit="all")


def complete_forgets_closed_windows(batches, window, delay, mode):
    """Breaks "complete": complete mode closes windows and drops late rows as the other modes do."""
    return _predict(batches, window, delay, mode, complete_keeps=False)


def state_never_evicted(batches, window, delay, mode):
    """Breaks "state": a closed window stays in the state."""
    return _predict(batches, window, delay, mode, evict=False)


def watermark_of_the_batch_alone(batches, window, delay, mode):
    """Breaks "watermark": the watermark from the batch's own latest event, so a batch of stragglers moves it
    back."""
    return _predict(batches, window, delay, mode, newest="batch")


def no_watermark_after_an_empty_batch(batches, window, delay, mode):
    """Breaks "watermark": a batch with no events reports no watermark."""
    return _predict(batches, window, delay, mode, empty_mark="none")


MUTANTS = [("append", append_emits_changes), ("append", closes_with_its_own_watermark),
           ("append", closes_only_past_the_end), ("late", no_late_drop), ("late", late_by_this_batchs_watermark),
           ("late", late_by_event_time), ("update", update_emits_everything),
           ("complete", complete_forgets_closed_windows), ("state", state_never_evicted),
           ("watermark", watermark_of_the_batch_alone), ("watermark", no_watermark_after_an_empty_batch)]
