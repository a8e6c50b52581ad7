"""Finding Java and the Maven-resolved jars, with one clear message when either is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from .errors import JarsMissingError, JavaError
from .settings import project_root

__all__ = ["JavaError", "JarsMissingError", "java_executable", "java_version", "broker_classpath",
           "producer_classpath", "queue_lab_classpath", "kafka_version", "local_fs_jar", "connector_jars", "MIN_JAVA"]

MIN_JAVA = 17

BROKER_LIB = "jvm/broker/lib"
CONNECTOR_LIB = "jvm/connector/lib"
# data_gen's Java producer (jvm/producer/PipeProducer.java), compiled by `make jars` against the broker's jars.
PRODUCER_JAR = "jvm/producer/lib/pipe-producer.jar"
# Lesson 04's consumer group / share group tool (jvm/queues/QueueLab.java), compiled by `make jars` likewise.
QUEUE_LAB_JAR = "jvm/queues/lib/queue-lab.jar"
# The kit's local file system for Spark (jvm/localfs/NioLocalFileSystem.java), compiled by `make jars`.
LOCAL_FS_JAR = "jvm/localfs/lib/etlkit-localfs.jar"
LOCAL_FS_CLASS = "etlkit.NioLocalFileSystem"

# Only these connector jars are handed to Spark: the rest of the connector's
# dependency tree (Hadoop client, Scala, compression codecs) ships with pyspark.
CONNECTOR_ARTIFACTS = (
    "spark-sql-kafka-0-10_2.13",
    "spark-token-provider-kafka-0-10_2.13",
    "kafka-clients",
    "commons-pool2",
)


def java_executable() -> str:
    """Path of ``java``: ``$JAVA_HOME/bin/java`` if set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
        raise JavaError(
            f"JAVA_HOME={home!r} has no bin/java. Point JAVA_HOME at a JDK {MIN_JAVA}+ "
            "(or unset it to use the java on PATH)."
        )
    found = shutil.which("java")
    if not found:
        raise JavaError(
            f"Java was not found. Install a JDK {MIN_JAVA} or newer (Debian/Ubuntu: "
            "`apt-get install openjdk-17-jdk-headless`; conda: `conda env create -f environment.yml`) "
            "and make sure `java -version` works."
        )
    return found


@lru_cache(maxsize=4)
def java_version(java: str | None = None) -> int:
    """The major version of ``java`` (e.g. 17), raising :class:`JavaError` when below 17."""
    java = java or java_executable()
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise JavaError(f"Could not run {java} -version: {err}") from None
    text = out.stderr + out.stdout
    m = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not m:
        raise JavaError(f"Could not read the Java version from `{java} -version`:\n{text.strip()}")
    major = int(m.group(1))
    if major == 1 and m.group(2):  # "1.8.0_392" style
        major = int(m.group(2))
    if major < MIN_JAVA:
        raise JavaError(
            f"{java} is Java {major}; the Kafka 4 broker and Spark 4 need Java {MIN_JAVA} or newer. "
            f"Install a JDK {MIN_JAVA}+ and put it first on PATH or set JAVA_HOME."
        )
    return major


def _lib(rel: str, what: str) -> Path:
    lib = project_root() / rel
    if not lib.is_dir() or not any(lib.glob("*.jar")):
        raise JarsMissingError(
            f"The {what} jars are not resolved yet ({lib} is empty). "
            "Run `make jars` (needs Maven and access to Maven Central) and try again."
        )
    return lib


def broker_classpath() -> str:
    """Classpath of the Kafka broker jars resolved into ``jvm/broker/lib``."""
    return str(_lib(BROKER_LIB, "Kafka broker") / "*")


def _tool_classpath(rel: str, what: str, source: str) -> str:
    """Classpath of one of the kit's small Java tools: its own jar (built by `make jars`), then the broker's jars."""
    jar = project_root() / rel
    if not jar.is_file():
        raise JarsMissingError(
            f"{what} is not built yet ({jar} is missing). "
            f"Run `make jars` (it compiles {source} with javac) and try again."
        )
    return f"{jar}{os.pathsep}{broker_classpath()}"


def producer_classpath() -> str:
    """Classpath of data_gen's Java producer: its own small jar, then the broker's Kafka client jars."""
    return _tool_classpath(PRODUCER_JAR, "data_gen's Java producer", "jvm/producer/PipeProducer.java")


def queue_lab_classpath() -> str:
    """Classpath of the kit's consumer-group/share-group tool (``etlkit.QueueLab``), then the broker's jars."""
    return _tool_classpath(QUEUE_LAB_JAR, "The kit's share-group tool", "jvm/queues/QueueLab.java")


def kafka_version() -> str:
    """The version of the Kafka broker resolved into ``jvm/broker/lib`` (from its jar's name), e.g. ``4.4.0``."""
    lib = _lib(BROKER_LIB, "Kafka broker")
    for jar in lib.glob("kafka_2.13-*.jar"):
        m = re.fullmatch(r"kafka_2\.13-(\d[\w.\-]*)\.jar", jar.name)
        if m:
            return m.group(1)
    raise JarsMissingError(f"No kafka_2.13-*.jar in {lib}. Run `make jars` again.")


def local_fs_jar() -> str | None:
    """The jar of the kit's chmod-free local file system, or None before `make jars` built it (Spark then keeps
    Hadoop's own: the same files, only slower to create)."""
    jar = project_root() / LOCAL_FS_JAR
    return str(jar) if jar.is_file() else None


def connector_jars() -> list[str]:
    """Local paths of the Spark-Kafka connector jars, for ``spark.jars``."""
    lib = _lib(CONNECTOR_LIB, "Spark-Kafka connector")
    jars = []
    for artifact in CONNECTOR_ARTIFACTS:
        matches = sorted(p for p in lib.glob(f"{artifact}-*.jar") if re.fullmatch(
            re.escape(artifact) + r"-\d[\w.\-]*\.jar", p.name))
        if not matches:
            raise JarsMissingError(
                f"{artifact}-*.jar is missing from {lib}. Run `make jars` again "
                "(delete the folder first if it is from an older version)."
            )
        jars.append(str(matches[-1]))
    return jars
