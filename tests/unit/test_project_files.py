"""The project's own files agree with each other: pinned packages, compose services, README commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pyproject_requirements() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def test_every_requirement_is_pinned():
    for req in _pyproject_requirements():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z0-9,]+\])?==[0-9][\w.]*", req), req


def test_environment_yml_lists_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip) == _pyproject_requirements()
    assert "python=3.11" in conda and any(d.startswith("openjdk=17") for d in conda) and "maven" in conda


def test_connector_matches_pyspark():
    pyspark = next(r for r in _pyproject_requirements() if r.startswith("pyspark==")).split("==")[1]
    pom = (ROOT / "jvm" / "connector" / "pom.xml").read_text()
    assert f"<spark.version>{pyspark}</spark.version>" in pom
    assert "<scala.binary.version>2.13</scala.binary.version>" in pom
    import pyspark as installed

    assert installed.__version__ == pyspark, "the installed pyspark must be the pinned one"


def _spark_version_mentions(text: str) -> set[str]:
    """Spark versions a text names: "pyspark 4.2.0", "Spark 4.2", "spark-sql-kafka-0-10_2.13:4.2.0" / "-4.2.0"."""
    found = set(re.findall(r"(?i)\b(?:py)?spark\*{0,2} (\d+\.\d+(?:\.\d+)?)\b(?!\+)", text))
    found |= set(re.findall(r"spark-(?:sql|token-provider)-kafka-0-10_2\.13[:-](\d+\.\d+\.\d+)", text))
    return found


def test_every_document_names_the_pinned_spark_version():
    """README, docs, the lesson sources and the stored notebooks name the Spark that is installed, no other."""
    pyspark = next(r for r in _pyproject_requirements() if r.startswith("pyspark==")).split("==")[1]
    minor = pyspark.rsplit(".", 1)[0]
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "notebooks").glob("*")),
             *sorted((ROOT / "tools").glob("*.py"))]
    wrong = {}
    for f in files:
        if f.is_file():
            bad = {v for v in _spark_version_mentions(f.read_text()) if v not in (pyspark, minor)}
            # The README's version section names the releases it could not use, with the reason.
            if f.name == "README.md":
                bad -= {"4.1.0", "4.1.1", "4.1", "4.0", "4.3"}
            if bad:
                wrong[f.relative_to(ROOT).as_posix()] = sorted(bad)
    assert not wrong, f"pinned pyspark is {pyspark}; these name another Spark: {wrong}"
    compose = (ROOT / "docker" / "jupyter.Dockerfile").read_text() + (ROOT / "docker-compose.yml").read_text()
    assert not {v for v in re.findall(r"apache/spark:(\d+\.\d+\.\d+)", compose) if v != pyspark}


def test_broker_is_kafka_4_with_a_logging_binding():
    pom = (ROOT / "jvm" / "broker" / "pom.xml").read_text()
    assert re.search(r"<kafka.version>4\.\d+\.\d+</kafka.version>", pom)
    assert "<artifactId>kafka_2.13</artifactId>" in pom
    assert "log4j-slf4j2-impl" in pom and "log4j-core" in pom


def test_docker_compose_runs_the_brokers_kafka_with_the_kits_group_floors():
    """The docker-compose brokers are the Kafka the kit pins, with the group settings the kit's own broker has
    (lesson 04's groups settle on half-second heartbeats and lock a share-group record for one second)."""
    import yaml

    from etl_lib.core.node import KafkaNode

    version = re.search(r"<kafka.version>(.+?)</kafka.version>", (ROOT / "jvm/broker/pom.xml").read_text()).group(1)
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    floors = {line.split("=")[0]: line.split("=")[1] for line in KafkaNode(ROOT, "h", 1, 2).properties()
              if line.startswith(("group.consumer.min.", "group.share.min."))}
    assert len(floors) == 3
    for name in ("kafka", "kafka-1", "kafka-2", "kafka-3"):
        assert services[name]["image"] == f"apache/kafka:{version}", name
        env = services[name]["environment"]
        for key, value in floors.items():
            assert str(env.get("KAFKA_" + key.upper().replace(".", "_"))) == value, (name, key)


def test_compose_jupyter_is_not_open_to_anyone():
    """No empty token, not root, published on loopback only; JAVA_HOME not tied to one CPU architecture."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    jupyter = compose["services"]["jupyter"]
    command = jupyter["command"]
    assert "token=''" not in command and 'token=""' not in command and "--allow-root" not in command
    assert "JUPYTER_TOKEN" in jupyter["environment"] and not jupyter["environment"]["JUPYTER_TOKEN"]
    assert jupyter["user"].startswith("${HOST_UID")
    for service in compose["services"].values():
        assert all(str(p).startswith("127.0.0.1:") for p in service.get("ports", [])), service.get("ports")
    dockerfile = (ROOT / "docker" / "jupyter.Dockerfile").read_text()
    assert "amd64" not in dockerfile and "arm64" not in dockerfile


def test_compose_parses_and_names_the_readme_services_and_ports():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "jupyter"} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert any(str(p).endswith("9092:9092") for p in kafka["ports"])
    env = kafka["environment"]
    assert "localhost:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "kafka:29092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "broker,controller" == env["KAFKA_PROCESS_ROLES"]
    assert "healthcheck" in kafka
    jupyter = services["jupyter"]
    assert jupyter["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert any(str(p).endswith("8888:8888") for p in jupyter["ports"])
    assert jupyter["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert (ROOT / jupyter["build"]["dockerfile"]).exists()

    readme = (ROOT / "README.md").read_text()
    for needle in ("docker compose up -d kafka", "localhost:9092", "kafka:29092", "8888"):
        assert needle in readme


def test_readme_quickstart_is_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_runs_every_test_path_and_strict_nbval_side_by_side():
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    commands = dry.stdout.splitlines()
    assert "-j3" in next(c for c in commands if "test-unit test-integration test-nbval" in c)
    pytest_runs = [c.split("-m pytest", 1)[1].split() for c in commands if "-m pytest" in c]
    ran = {arg for args in pytest_runs if "--nbval" not in args for arg in args}
    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    assert set(testpaths) <= ran  # no suite of pyproject.toml's testpaths is left out
    # the docstring examples of both packages run in the JVM-free lane
    unit = next(args for args in pytest_runs if "tests/unit" in args and "tests/integration" not in args)
    assert {"--doctest-modules", "etl_lib", "data_gen"} <= set(unit)
    assert any("--nbval" in args and "notebooks" in args for args in pytest_runs)


def test_no_jar_is_tracked():
    import subprocess

    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0 and "not a git repository" in listed.stderr:
        pytest.skip("not a git checkout (an unpacked source archive): nothing is tracked")
    assert listed.returncode == 0, listed.stderr
    tracked = listed.stdout.split()
    assert "pyproject.toml" in tracked, "git ls-files listed the checkout"
    assert not [f for f in tracked if f.endswith(".jar")]


def test_public_names_of_the_seeds_resolve():
    import etl_lib
    import etl_lib.pipelines as pipelines

    for name in etl_lib.__all__:
        assert callable(getattr(etl_lib, name)) or isinstance(getattr(etl_lib, name), type), name
    for name in ("message_source", "minibatch_collector", "retry_with_backoff", "worker", "process_batch",
                 "create_fake_files", "bfd_buckets", "process_one_bucket", "bucket_worker", "init_file_metrics"):
        assert name in pipelines.__all__ and callable(getattr(pipelines, name)), name
    assert "calculate_pearson_correlations" in etl_lib.__all__ and "parse_bike_stream" in etl_lib.__all__


def test_compose_cluster_profile_is_a_replicated_quorum_and_spark_at_pyspark_version():
    import pyspark

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    nodes = [services[f"kafka-{n}"] for n in (1, 2, 3)]
    assert all(node["profiles"] == ["cluster"] for node in nodes), "started only with --profile cluster"
    envs = [node["environment"] for node in nodes]
    assert [e["KAFKA_NODE_ID"] for e in envs] == [1, 2, 3]
    assert len({e["CLUSTER_ID"] for e in envs}) == 1, "one cluster id for all nodes"
    voters = {e["KAFKA_CONTROLLER_QUORUM_VOTERS"] for e in envs}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    for n, e in zip((1, 2, 3), envs):
        assert e["KAFKA_ADVERTISED_LISTENERS"] == f"HOST://localhost:{19091 + n},DOCKER://kafka-{n}:29092"
        assert e["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3 and e["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
    master, worker = services["spark-master"], services["spark-worker"]
    for spark in (master, worker):
        assert spark["image"] == f"apache/spark:{pyspark.__version__}" and spark["profiles"] == ["cluster"]
    assert "spark.master.rest.enabled=false" in master["environment"]["SPARK_MASTER_OPTS"]
    assert "spark://spark-master:7077" in worker["command"] and ".:/kit" in worker["volumes"]
    ports = [p for svc in nodes + [master, worker] for p in svc["ports"]]
    assert all(str(p).startswith("127.0.0.1:") for p in ports), "published on loopback only"
    readme = (ROOT / "README.md").read_text()
    assert "docker compose --profile cluster up -d" in readme and "kafka-1:29092" in readme
