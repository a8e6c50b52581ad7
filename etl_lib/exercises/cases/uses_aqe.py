"""Lesson 07: ``uses_aqe``, whether Spark planned a query with adaptive query execution, read from its plan.

Each case builds one query on real Spark (a batch count, or a streaming query on a JSON file source that runs its
micro-batches), with the AQE settings the case names, and hands it to the student's function.  The observing half
also records what Spark itself planned (an ``AdaptiveSparkPlan`` node in the executed plan); the judging half holds
what Spark 4.2 does for each case (verified by these cases on every run of the tests: the kit's solution passes only
while Spark's plan and the judge agree), so nothing the student's process reports decides the answer."""

from __future__ import annotations

import json
import random
from typing import Any

from ..grader import exercise
from ._common import Case, Context, Mismatch, expect, outcome, shown

AQE = "spark.sql.adaptive.enabled"
STATELESS = "spark.sql.adaptive.streaming.stateless.enabled"


@exercise("uses_aqe", "07", "Did Spark plan it with AQE? Batch, stateless and stateful queries, read from the plan",
          ["aqe"], needs="spark", requirements={
              "batch": "a batch query with a shuffle is planned with AQE when `spark.sql.adaptive.enabled` is on, "
                       "and without it when that is off",
              "stateless": "the micro-batches of a stateless streaming query are planned with AQE when "
                           "`spark.sql.adaptive.streaming.stateless.enabled` is on as well",
              "stateful": "a stateful streaming query (an aggregation, a deduplication) is never planned with AQE",
              "plan": "Read the answer from the plan Spark ran"})
def cases(ctx: Context) -> list[Case]:
    rng = random.Random(ctx.seed(71))
    trips = [{"trip_id": f"t{i}", "station": rng.randint(1, 6)} for i in range(rng.randint(20, 40))]
    partitions = rng.randint(2, 4)
    stateful_kind = rng.choice(["a count per station", "dropDuplicates by station"])
    started_on = rng.random() < 0.5  # the plan case: the stateless setting at the start, flipped before batch 1

    def settings(spark, values: dict[str, bool]):
        """Set the session's AQE settings; returns what restores the previous ones."""
        before = {key: spark.conf.get(key) for key in values}
        for key, on in values.items():
            spark.conf.set(key, str(on).lower())
        return lambda: [spark.conf.set(key, value) for key, value in before.items()]

    def files(label: str):
        folder = ctx.scratch(label)
        (folder / "in").mkdir()
        (folder / "in" / "part0.json").write_text("\n".join(json.dumps(t) for t in trips))
        return folder

    def batch(adaptive: bool):
        def observe(fn) -> dict[str, Any]:
            spark = ctx.spark()
            restore = settings(spark, {AQE: adaptive})
            try:
                df = spark.read.schema("trip_id string, station int").json(str(files("aqe-batch") / "in"))
                df = df.groupBy("station").count()
                df.collect()
                planned = "AdaptiveSparkPlan" in df._jdf.queryExecution().executedPlan().toString()
                answer = outcome(lambda: fn(df))
            finally:
                restore()
            return {"answer": answer, "spark": planned}
        return observe

    def streaming(stateful: bool, stateless_on: bool, flip: bool = False):
        """A streaming query on a JSON file source, run to its end (available-now), or, with ``flip``, run one
        micro-batch, the session's stateless setting turned over, and a second micro-batch run (left running
        while the student's function reads it)."""
        def observe(fn) -> dict[str, Any]:
            spark = ctx.spark()
            folder = files("aqe-stream")
            restore = settings(spark, {AQE: True, STATELESS: stateless_on})
            query = None
            try:
                stream = spark.readStream.schema("trip_id string, station int").json(str(folder / "in"))
                if not stateful:
                    df = stream.repartition(partitions, "station")
                elif stateful_kind == "a count per station":
                    df = stream.groupBy("station").count()
                else:
                    df = stream.dropDuplicates(["station"])
                writer = (df.writeStream.format("noop").outputMode("update")
                          .option("checkpointLocation", str(folder / "ck")))
                if flip:
                    query = writer.start()
                    query.processAllAvailable()
                    spark.conf.set(STATELESS, str(not stateless_on).lower())
                    (folder / "in" / "part1.json").write_text("\n".join(json.dumps(t) for t in trips[:5]))
                    query.processAllAvailable()
                else:
                    query = writer.trigger(availableNow=True).start()
                    query.awaitTermination(120)
                if query.exception() is not None:
                    raise RuntimeError(f"the case's own query failed: {str(query.exception())[:300]}")
                planned = "AdaptiveSparkPlan" in query._jsq.explainInternal(False)
                answer = outcome(lambda: fn(query))
            finally:
                if query is not None:
                    query.stop()
                restore()
            return {"answer": answer, "spark": planned}
        return observe

    def planned(want: bool, problem: str):
        def judge(seen: dict[str, Any]) -> None:
            with_ = "with" if seen["spark"] else "without"
            expect(seen["spark"] is want, f"Spark planned this query {with_} AQE, not as this case expects of "
                                          "Spark 4.2: please report it")
            got = seen["answer"]
            if "raised" in got:
                raise Mismatch(f"raised {got['raised']}: {str(got.get('message', '')).splitlines()[0][:200]}"
                               if got.get("message") else f"raised {got['raised']}")
            value = got["returned"]
            expect(type(value) is bool, f"returned {shown(value)}, not True or False")
            expect(value is want, f"returned {value}, but Spark planned {problem} {'with' if want else 'without'} "
                                  "AQE")
        return judge

    on_off = {True: "on", False: "off"}
    return [
        Case(f"a batch count per station (a shuffle), run with {AQE} on", batch(True),
             planned(True, "this batch query"), "a batch query with a shuffle is planned with AQE while "
             f"{AQE} is on: read the plan the DataFrame ran", 1, "batch"),
        Case(f"the same batch count, run with {AQE} off", batch(False),
             planned(False, "this batch query"), "with its setting off, AQE plans no batch query: the plan the "
             "DataFrame ran says so, a rule of thumb does not", 2, "batch"),
        Case(f"a stateless streaming query (a repartition by station into {partitions}: a shuffle), run with "
             f"{STATELESS} on", streaming(False, True),
             planned(True, "its last micro-batch"), "since release 4.1 the micro-batches of a stateless query are "
             "planned with AQE (its stateless setting, on by default): streaming does not mean no AQE. Read the plan "
             "of the last micro-batch the query ran", 3, "stateless"),
        Case(f"the same stateless streaming query, run with {STATELESS} off", streaming(False, False),
             planned(False, "its last micro-batch"), "with the stateless setting off a stateless micro-batch is "
             "planned without AQE: read the plan of the last micro-batch", 4, "stateless"),
        Case(f"a stateful streaming query ({stateful_kind}), run with {AQE} and {STATELESS} on",
             streaming(True, True), planned(False, "its last micro-batch"),
             "a stateful query is never planned with AQE, whatever the settings say: its state is split by the "
             "shuffle's partitions, which AQE would change. Read the plan, not the settings", 5, "stateful"),
        Case(f"a stateless streaming query started with {STATELESS} {on_off[started_on]}; the session's setting "
             f"turned {on_off[not started_on]} before its second micro-batch (still running)",
             streaming(False, started_on, flip=True), planned(started_on, "its last micro-batch"),
             "a streaming query keeps the stateless setting it started with: what the session says now is not "
             "what planned its micro-batches. Read the plan it ran", 6, "plan"),
    ]
