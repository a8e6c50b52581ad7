"""``python -m etl_lib doctor``: is this machine ready for the kit?  Each check says OK or the fix.

Checks, in order: Java 17+, pyspark and its Scala version, the connector jars
(and that they match pyspark), the broker jars, a broker answering at
``KAFKA_BOOTSTRAP_SERVERS``, and Spark reading a record back from Kafka.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..core import jvm as _jvm
from ..core.cli import run, settings_or_exit
from ..core.kafka import broker_answers, client_options, create_topics
from ..core.settings import Settings, get_settings
from ..spark import create_spark_session, read_kafka_batch, stop_spark

__all__ = ["Check", "run_checks", "main"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found, or the fix when not ok


def _found(name: str, find, detail: str, missing: type[Exception]) -> Check:
    """OK with ``detail`` when ``find()`` succeeds; otherwise the fix that its ``missing`` error names."""
    try:
        find()
        return Check(name, True, detail)
    except missing as err:
        return Check(name, False, str(err))


def _java() -> Check:
    return _found("Java 17 or newer", _jvm.java_version, "found", _jvm.JavaError)


def _pyspark() -> Check:
    try:
        import pyspark
    except ImportError:
        return Check("pyspark", False, "pyspark is not installed: run `make install`")
    jars = Path(pyspark.__file__).parent / "jars"
    scala = sorted(p.name for p in jars.glob("scala-library-*.jar"))
    scala_version = scala[0].removeprefix("scala-library-").rsplit(".", 2)[0] if scala else "?"
    return Check("pyspark and Scala", True, f"pyspark {pyspark.__version__}, Scala {scala_version}")


def _connector() -> Check:
    try:
        jars = [Path(j).name for j in _jvm.connector_jars()]
    except _jvm.JarsMissingError as err:
        return Check("Spark-Kafka connector jars", False, str(err))
    try:
        import pyspark
    except ImportError:
        return Check("Spark-Kafka connector jars", False,
                     f"{', '.join(jars)} resolved, but cannot be matched to pyspark: pyspark is not installed "
                     "(run `make install`)")

    main_jar = jars[0]
    if f"_2.13-{pyspark.__version__}.jar" not in main_jar:
        return Check("Spark-Kafka connector jars", False,
                     f"{main_jar} does not match pyspark {pyspark.__version__} with Scala 2.13: set spark.version "
                     "in jvm/connector/pom.xml to pyspark's version, delete jvm/connector/lib and run `make jars`")
    return Check("Spark-Kafka connector jars", True, ", ".join(jars))


def _broker_jars() -> Check:
    return _found("Kafka broker jars", _jvm.broker_classpath, "resolved", _jvm.JarsMissingError)


def _producer_jar() -> Check:
    return _found("data_gen's Java producer", _jvm.producer_classpath, "built", _jvm.JarsMissingError)


def _broker(settings: Settings) -> Check:
    if broker_answers(settings):
        return Check("Kafka broker answering", True, "yes")
    return Check("Kafka broker answering", False,
                 "no broker answers at KAFKA_BOOTSTRAP_SERVERS: start one with `make broker-start` "
                 "(or `docker compose up -d kafka`), or point KAFKA_BOOTSTRAP_SERVERS at yours")


def _spark_reads_kafka(settings: Settings) -> Check:
    from kafka import KafkaProducer

    topic = f"doctor-{uuid.uuid4().hex[:8]}"
    try:
        create_topics(settings, [topic], 1)
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, **client_options(settings))
        for i in range(10):
            producer.send(topic, str(i).encode())
        producer.flush()
        producer.close()
        spark = create_spark_session(settings)
        n = read_kafka_batch(spark, topic, settings).count()
    except Exception as err:  # noqa: BLE001 - reported as the check's result
        return Check("Spark reads Kafka", False, f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")
    return Check("Spark reads Kafka", n == 10, "read back 10 of 10 records" if n == 10 else f"read {n} of 10")


def run_checks(settings: Settings | None = None, spark: bool = True) -> list[Check]:
    """Run the checks in order; later checks are skipped (not run) when what they need failed."""
    s = settings or get_settings()
    checks = [_java(), _pyspark(), _connector(), _broker_jars(), _producer_jar()]
    broker = _broker(s)
    checks.append(broker)
    if spark:
        if all(c.ok for c in checks):
            checks.append(_spark_reads_kafka(s))
        else:
            checks.append(Check("Spark reads Kafka", False, "skipped: fix the checks above first"))
    return checks


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{'OK ' if c.ok else 'FIX'}  {c.name:<{width}}  {c.detail}" for c in checks)


@run
def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m etl_lib doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--no-spark", action="store_true", help="skip the check that starts Spark and reads Kafka")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    checks = run_checks(settings, spark=not args.no_spark)
    print(format_checks(checks))
    try:
        from pyspark import SparkContext
    except ImportError:
        return 1
    if SparkContext._active_spark_context is not None:
        from pyspark.sql import SparkSession

        stop_spark(SparkSession.builder.getOrCreate())
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
