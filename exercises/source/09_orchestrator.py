# %% [markdown]
# # Exercises 09 · The orchestrator
#
# Practice for [notebook 09](../notebooks/09_orchestrator.ipynb) and [troubleshooting](../docs/troubleshooting.md).
# Neither exercise needs Kafka or Spark. Write your code in the cells marked ✏️ (each must run on its own: keep its
# imports in it), then run the check cell below it.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `plan_queries`: which queries start
#
# `python -m etl_lib run` does not start a fixed list of queries. It walks the kit's registries: the raw query (it
# reads the topic of each record kind of `etl_lib.core.kinds` once and writes each kind's raw table and
# quarantine), and each analytic of `etl_lib.core.catalog` whose `ENABLE_*` flag is on. Between the two sit the
# silver tables, each written only when a started query reads it: each event once, and the combined windows built
# from those events.
# A new analytic is its build function, an entry in the catalog (its flag, name, inputs and the name of that
# function) and a field of the settings; the orchestrator does not change. The stages are small, and configuration
# wires them. The next cell shows the kit's registry as plain data.
#
# Write `plan_queries(env, registry)` returning the names of the queries that would start, in the registry's order.
# `env` holds environment variables, as `os.environ` does (other variables in it do not matter); `registry` is a
# list of stages, each a dict with a `name` and a `layer`; a stage that reads a silver stage names it in `needs`.
#
# - `"raw"` (bronze): raw queries start whatever the flags say, so switching analytics off never stops the kit
#   from keeping every record it reads.
# - `"gold"`: an analytic, with its `flag`, the environment variable that switches it; an analytic starts only when
#   its flag is on. Unset, a flag is on (the kit's default, `true`); set, it must be one of the spellings the kit's
#   settings accept: `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`, in any letter case, spaces around allowed.
#   Any other value, an empty one too, must stop the program before anything starts: raise `ValueError` naming the
#   variable, its value and the accepted values, as the kit's settings do.
# - `"silver"`: a silver stage starts only when a started stage needs it. A silver stage may need another one, so
#   needs make a chain: in the kit, a windows analytic needs the silver windows, which need the silver events, and
#   that analytic alone starts both. Follow the chain to its end: a silver stage needed only through the chain
#   starts too, wherever the registry lists it.
#
# Write nothing of the kit's own stages into the function: it works for any registry passed in, a new analytic with
# a flag of its own included.

# %%
from etl_lib.core.catalog import ANALYTICS
from etl_lib.main import EVENTS_QUERY, SILVER_QUERY
from etl_lib.writers import RAW_QUERY

KIT_REGISTRY = [{"name": RAW_QUERY, "layer": "raw"},
                {"name": EVENTS_QUERY, "layer": "silver"},
                {"name": SILVER_QUERY, "layer": "silver", "needs": EVENTS_QUERY}]
for a in ANALYTICS:
    KIT_REGISTRY.append({"name": a.name, "layer": "gold", "flag": a.flag,
                         "needs": SILVER_QUERY if a.on_windows else EVENTS_QUERY})
for stage in KIT_REGISTRY:
    print(stage)

# %% tags=["exercise"]
# ✏️ your code
def plan_queries(env: dict, registry: list) -> list:
    ### BEGIN SOLUTION
    spellings = {"true": True, "1": True, "yes": True, "on": True,
                 "false": False, "0": False, "no": False, "off": False}
    started = set()
    for stage in registry:
        if stage["layer"] == "raw":
            started.add(stage["name"])
        elif stage["layer"] == "gold":
            value = env.get(stage["flag"], "true")
            if value.strip().lower() not in spellings:
                raise ValueError(f"{stage['flag']}={value!r} is not valid: expected true or false "
                                 "(also accepted: 1/0, yes/no, on/off)")
            if spellings[value.strip().lower()]:
                started.add(stage["name"])
    # follow the needs: a silver stage that starts may need another, wherever the registry lists it
    silver = {stage["name"]: stage for stage in registry if stage["layer"] == "silver"}
    to_visit = [stage.get("needs") for stage in registry if stage["name"] in started]
    while to_visit:
        name = to_visit.pop()
        if name in silver and name not in started:
            started.add(name)
            to_visit.append(silver[name].get("needs"))
    return [stage["name"] for stage in registry if stage["name"] in started]
    ### END SOLUTION


# %%
check("plan_queries", plan_queries)

# %% [markdown]
# ## 2. `diagnose`: which problem a log shows
#
# When a query of `python -m etl_lib run` fails, the program prints the query's name and the exception at the root
# of the failure, and points to the Spark driver log (`data/logs/spark-driver.log`) for the whole stack trace. Write
# `diagnose(log)`: `log` is an excerpt of that log, or of what a program printed; it returns the id of the problem it
# shows, from the table `PROBLEMS` in the cell below (its fixes follow docs/troubleshooting.md).
#
# How an excerpt reads:
#
# - A log line starts with its date and time: `2026-12-07 12:38:50 ERROR MicroBatchExecution: Query ...`.
# - A Java stack trace is an exception line (`org.apache.spark.SparkException: message`; a message may take more
#   than one line), its frames (lines that start with a tab and `at `, or a tab and `...`), then for each cause a
#   line that starts with `Caused by:`, with frames of its own.
# - Spark wraps errors: the first lines of a trace say where the failure surfaced, its last `Caused by:` says what
#   went wrong. So the problem is the one the innermost cause names: the text from the last line that starts with
#   `Caused by:` down to the frame that follows it. A trace without `Caused by:` is read from the line after the last
#   log line above its first frame (or from the top) down to that frame. An excerpt without frames is read whole.
#
# Return the id of the first problem of the table, in its order, whose words appear in that text (letter case as
# written). An excerpt that shows none of the table's problems returns `None`, not a guess: a wrong id sends the
# reader to the wrong fix.

# %% tags=["exercise"]
# ✏️ your code
PROBLEMS = {  # id: (the words that show the problem, the fix)
    "no-broker": (("No Kafka broker answers at", "Node may not be available"),
                  "start the broker (`make broker-start`), or point KAFKA_BOOTSTRAP_SERVERS at one that runs"),
    "bad-address": (("No resolvable bootstrap urls",),
                    "KAFKA_BOOTSTRAP_SERVERS names a host this machine cannot resolve (with docker compose: "
                    "localhost:9092 on your machine, kafka:29092 in a container)"),
    "no-connector": (("Failed to find data source: kafka",),
                     "Spark has no Kafka connector: `make jars`, and a session from `create_spark_session`"),
    "java": (("need Java 17 or newer", "compiled by a more recent version of the Java Runtime"),
             "install a JDK 17 or newer and put it first on PATH, or set JAVA_HOME"),
    "bad-setting": (("is not valid:",),
                    "correct the variable the message names, to a value of the form it shows"),
    "missing-topic": (("has no such topic",),
                      "correct the KAFKA_TOPIC_* setting, or create and fill the topics: "
                      "`python -m data_gen --days 1`"),
    "changed-query": (("does not match existing state",),
                      "give the changed query a new checkpoint folder and a new output folder"),
    "data-loss": (("Some data may have been lost", "Offsets out of range"),
                  "records the checkpoint expects are gone from Kafka: restart with a new checkpoint and output "
                  "folder (`make demo` empties them with the topics), or KAFKA_FAIL_ON_DATA_LOSS=false to go on "
                  "without them"),
    "heap": (("Java heap space",),
             "raise SPARK_DRIVER_MEMORY (e.g. 4g), or shorten WATERMARK_DELAY so less state is kept"),
}


def diagnose(log: str):
    ### BEGIN SOLUTION
    import re

    lines = log.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith(("\tat ", "\t..."))]
    if not frames:
        text = lines
    else:
        causes = [i for i, line in enumerate(lines) if line.startswith("Caused by:")]
        if causes:
            start = causes[-1]
        else:
            logged = [i for i in range(frames[0]) if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", lines[i])]
            start = logged[-1] + 1 if logged else 0
        end = next((i for i in frames if i > start), len(lines))
        text = lines[start:end]
    cause = "\n".join(text)
    for problem, (words, _fix) in PROBLEMS.items():
        if any(w in cause for w in words):
            return problem
    return None
    ### END SOLUTION


# %%
check("diagnose", diagnose)
