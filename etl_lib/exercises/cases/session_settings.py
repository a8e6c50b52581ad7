"""Lesson 01: ``session_settings``, the Spark session's configuration from the environment (the kit's
``create_spark_session``): the master, few shuffle partitions, UTC and the Kafka connector of the installed Spark."""

from __future__ import annotations

import random

from ..grader import exercise
from ._common import Case, Context, expect, outcome, raised, shown

CONNECTOR = "org.apache.spark:spark-sql-kafka-0-10_2.13:"


def _installed_spark() -> str:
    """The installed pyspark's version (the judging half's own, never one the student's process reports)."""
    from importlib.metadata import version

    return version("pyspark")


@exercise("session_settings", "01", "The Spark session's settings from the environment", ["spark-session"],
          requirements={
              "master": "from `SPARK_MASTER` without surrounding spaces, or the kit's default `local[4]` when it "
                        "is unset",
              "partitions": "from `SPARK_SHUFFLE_PARTITIONS`, a whole number greater than 0, as a text",
              "utc": "always `\"UTC\"`",
              "connector": "the Maven coordinate of the Spark–Kafka connector",
              "refuse": "raise `ValueError` with a message naming the variable and the value"})
def cases(ctx: Context) -> list[Case]:
    rng = random.Random(ctx.seed(1))

    def call(env: dict, version: str | None):
        if version is None:
            return lambda fn: outcome(lambda: fn(dict(env)))
        return lambda fn: outcome(lambda: fn(dict(env), version))

    def label(env: dict, version: str | None) -> str:
        return f"session_settings({env!r}{'' if version is None else f', {version!r}'})"

    def setting(env: dict, key: str, want, hint: str, size: int, need: str, version: str | None = "4.2.0") -> Case:
        def judge(seen):
            expect("returned" in seen, str(seen.get("described")))
            got = seen["returned"]
            expect(isinstance(got, dict), f"returned {shown(got)}, not a dict of Spark settings")
            expect(key in got, f"the dict has no {key!r}: it holds {sorted(got)}")
            wanted = want() if callable(want) else want
            expect(type(got[key]) is str and got[key] == wanted, f"{key!r} is {shown(got[key])}, expected {wanted!r}")
        return Case(f"{label(env, version)}[{key!r}]", call(env, version), judge, hint, size, need)

    def refused(env: dict, variable: str, size: int) -> Case:
        value = env[variable]

        def judge(seen):
            said = str(seen.get("message"))
            expect(raised(seen, "ValueError"), f"returned {shown(seen['returned'])} instead of raising ValueError"
                   if "returned" in seen else str(seen.get("described")))
            expect(variable in said, f"the ValueError does not name {variable}: {said!r}")
            expect(not value.strip() or value.strip() in said, f"the ValueError does not show the value "
                                                               f"{value!r}: {said!r}")
        return Case(label(env, "4.2.0"), call(env, "4.2.0"), judge,
                    f"a bad {variable} must stop the program before Spark starts: raise ValueError naming the "
                    "variable and its value, so the user knows what to fix", size, "refuse")

    master_hint = ("the master comes from SPARK_MASTER as given (spaces around it removed); unset, it is the kit's "
                   "default: four task threads in this process")
    threads = rng.randint(2, 16)
    masters = [({}, "local[4]"), ({"SPARK_MASTER": f"local[{threads}]"}, f"local[{threads}]"),
               ({"SPARK_MASTER": "local[*]"}, "local[*]"),
               ({"SPARK_MASTER": " spark://10.0.0.5:7077 "}, "spark://10.0.0.5:7077"),
               ({"SPARK_MASTER": "k8s://https://api.example:6443"}, "k8s://https://api.example:6443"),
               ({"SPARK_MASTER": "yarn"}, "yarn")]
    partitions_hint = ("shuffle partitions come from SPARK_SHUFFLE_PARTITIONS, a text as every Spark setting is; "
                       "unset, the kit's small number for one machine, not Spark's own 200")
    count = rng.randint(5, 64)
    partitions = [({}, "4"), ({"SPARK_SHUFFLE_PARTITIONS": "8"}, "8"),
                  ({"SPARK_SHUFFLE_PARTITIONS": f" {count} "}, str(count))]
    utc_hint = ("the session time zone is UTC whatever the machine or its TZ says, so event times read from text "
                "mean the same instant everywhere")
    connector_hint = ("the connector's version is the Spark version it runs in (given, or the installed pyspark's), "
                      "and its artifact carries Scala 2.13, the only Scala Spark 4 is built for")
    version = f"4.{rng.randint(0, 1)}.{rng.randint(0, 3)}"
    versions = ["4.2.0", "4.1.1", version]
    bad_masters = ["lokal[4]", "local[four]", "", "local 4", "http://10.0.0.5:7077", "4"]
    bad_partitions = ["0", "-2", "four", "", "2.5"]
    return [
        *(setting(env, "spark.master", want, master_hint, i, "master") for i, (env, want) in enumerate(masters)),
        *(setting(env, "spark.sql.shuffle.partitions", want, partitions_hint, 10 + i, "partitions")
          for i, (env, want) in enumerate(partitions)),
        setting({}, "spark.sql.session.timeZone", "UTC", utc_hint, 20, "utc"),
        setting({"TZ": "America/New_York", "SPARK_MASTER": "local[2]"}, "spark.sql.session.timeZone", "UTC",
                utc_hint, 21, "utc"),
        *(setting({}, "spark.jars.packages", CONNECTOR + v, connector_hint, 30 + i, "connector", v)
          for i, v in enumerate(versions)),
        setting({}, "spark.jars.packages", lambda: CONNECTOR + _installed_spark(), connector_hint, 33, "connector",
                None),
        *(refused({"SPARK_MASTER": m}, "SPARK_MASTER", 40 + i) for i, m in enumerate(bad_masters)),
        *(refused({"SPARK_SHUFFLE_PARTITIONS": p}, "SPARK_SHUFFLE_PARTITIONS", 50 + i)
          for i, p in enumerate(bad_partitions)),
    ]
