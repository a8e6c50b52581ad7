"""Wrong answers to exercise 09 `diagnose`, one requirement broken in each."""

import re

PROBLEMS = {
    "no-broker": ("No Kafka broker answers at", "Node may not be available"),
    "bad-address": ("No resolvable bootstrap urls",),
    "no-connector": ("Failed to find data source: kafka",),
    "java": ("need Java 17 or newer", "compiled by a more recent version of the Java Runtime"),
    "bad-setting": ("is not valid:",),
    "missing-topic": ("has no such topic",),
    "changed-query": ("does not match existing state",),
    "data-loss": ("Some data may have been lost", "Offsets out of range"),
    "heap": ("Java heap space",),
}


def _lookup(text, first_words_only=False, guess=None):
    for problem, words in PROBLEMS.items():
        if any(w in text for w in (words[:1] if first_words_only else words)):
            return problem
    return guess


def _innermost(log):
    lines = log.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith(("\tat ", "\t..."))]
    if not frames:
        return log
    causes = [i for i, line in enumerate(lines) if line.startswith("Caused by:")]
    if causes:
        start = causes[-1]
    else:
        logged = [i for i in range(frames[0]) if re.match(r"\d{4}-\d\d-\d\d ", lines[i])]
        start = logged[-1] + 1 if logged else 0
    end = next((i for i in frames if i > start), len(lines))
    return "\n".join(lines[start:end])


def first_line_only(log):
    """Breaks "root": reads the first line of the excerpt, where a failure surfaced, not what caused it."""
    return _lookup(log.splitlines()[0] if log else "")


def whole_excerpt(log):
    """Breaks "root": looks the whole excerpt up, so a warning above the trace wins over the trace's cause."""
    return _lookup(log)


def outermost_exception(log):
    """Breaks "root": reads everything above the first frame, the outermost exception, never its causes."""
    lines = log.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith(("\tat ", "\t..."))]
    return _lookup("\n".join(lines[:frames[0]]) if frames else log)


def first_words_only(log):
    """Breaks "cause": looks up only the first words of each problem, so a problem shown by its other words is
    missed."""
    return _lookup(_innermost(log), first_words_only=True)


def most_common_guess(log):
    """Breaks "unknown": when no problem matches, answers the most common one, no broker, instead of None."""
    return _lookup(_innermost(log), guess="no-broker")


MUTANTS = [("root", first_line_only), ("root", whole_excerpt), ("root", outermost_exception),
           ("cause", first_words_only), ("unknown", most_common_guess)]
