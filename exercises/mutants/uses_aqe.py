"""Wrong answers to exercise 07 `uses_aqe`, one requirement broken in each."""

import contextlib
import io


def _plan(query) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        query.explain()
    return out.getvalue()


def _streaming(query) -> bool:
    return hasattr(query, "lastProgress")


def _setting(key) -> bool:
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate().conf.get(key) == "true"


def the_settings(query):
    """Breaks "stateful": answers from the session's settings, as if they alone decided; a stateful query gets
    True."""
    on = _setting("spark.sql.adaptive.enabled")
    if _streaming(query):
        on = on and _setting("spark.sql.adaptive.streaming.stateless.enabled")
    return on


def streaming_never(query):
    """Breaks "stateless": reads a batch query's plan, but takes it that no streaming query is planned with AQE
    (true before release 4.1)."""
    return not _streaming(query) and "AdaptiveSparkPlan" in _plan(query)


def coalesced_only(query):
    """Breaks "stateless": looks for AQE coalescing a shuffle (`AQEShuffleRead`), not for an adaptive plan; AQE
    planned the stateless micro-batch but had nothing to coalesce in a repartition to a given number."""
    return "AQEShuffleRead" in _plan(query)


def batch_always(query):
    """Breaks "batch": takes every batch query to be planned with AQE, whatever its setting says."""
    return True if not _streaming(query) else "AdaptiveSparkPlan" in _plan(query)


def the_rule(query):
    """Breaks "plan": knows the rule (a stateful query never; a stateless one by its setting) but applies it to the
    session's settings now, not to the plan the query ran with the settings it started with."""
    if not _streaming(query):
        return "AdaptiveSparkPlan" in _plan(query)
    if (query.lastProgress or {}).get("stateOperators"):
        return False
    return _setting("spark.sql.adaptive.enabled") and _setting(
        "spark.sql.adaptive.streaming.stateless.enabled")


MUTANTS = [("stateful", the_settings), ("stateless", streaming_never), ("stateless", coalesced_only),
           ("batch", batch_always), ("plan", the_rule)]
