# The kit's two everyday commands are `make demo` and `make test`; everything
# else here is what they depend on.  Each step is skipped when already done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MVN    := mvn -B --no-transfer-progress -q -s jvm/settings.xml

BROKER_STAMP    := jvm/broker/lib/.resolved
CONNECTOR_STAMP := jvm/connector/lib/.resolved
INSTALL_STAMP   := $(VENV)/.installed
PRODUCER_JAR    := jvm/producer/lib/pipe-producer.jar
QUEUE_LAB_JAR   := jvm/queues/lib/queue-lab.jar
LOCALFS_JAR     := jvm/localfs/lib/etlkit-localfs.jar

.PHONY: help install jars demo lab grade test test-cluster test-unit test-integration test-nbval test-notebooks-small notebooks notebooks-refresh \
        notebooks-build notebooks-check cheatsheet bench test-pytest broker-start broker-stop broker-status cluster-up cluster-down cluster-status config doctor clean

help:
	@echo "make demo    run the main job end to end on a local Kafka broker"
	@echo "make lab     study: JupyterLab on study/, your own copy of the notebooks (REFRESH=1 to update it)"
	@echo "make test    run every test (unit, integration, notebooks; three suites side by side)"
	@echo "make test-unit | test-integration | test-nbval   one of its three suites alone (test-pytest: all but nbval)"
	@echo "make test-cluster   the long lane: the practice cluster (its test, lesson 12), lessons 09 and 10, two soak tests (CI runs it after make test)"
	@echo "make test-notebooks-small   run every notebook with papermill and small parameters (opt-in)"
	@echo "make install create .venv and install the kit with its dev tools"
	@echo "make jars    resolve the Kafka broker and Spark-Kafka connector jars with Maven"
	@echo "make broker-start | broker-stop | broker-status   the local broker, by hand"
	@echo "make cluster-up | cluster-down | cluster-status   a practice cluster: 3 Kafka brokers, Spark master + 2 workers"
	@echo "make notebooks          run every notebook with papermill into build/notebooks and export HTML"
	@echo "make notebooks-refresh  re-execute the notebooks in place (stored outputs, for committing); LESSON=06 for one"
	@echo "make notebooks-build    carry edits of notebooks/lessons/*.py into the notebooks"
	@echo "make doctor  check Java, jars, broker and Spark; print the fix for what is missing"
	@echo "make config  print the effective settings"
	@echo "make grade   grade the exercise notebooks in exercises/ (FOLDER=... for another folder)"
	@echo "make cheatsheet   print docs/cheatsheet.md to build/cheatsheet.html (A4) and check it in headless Chromium"

install: $(INSTALL_STAMP)
$(INSTALL_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is needed ($(PYTHON) not found)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed; $(PYTHON) is $$($(PYTHON) --version). Use PYTHON=python3.11 make ..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

jars: $(BROKER_STAMP) $(CONNECTOR_STAMP) $(PRODUCER_JAR) $(QUEUE_LAB_JAR) $(LOCALFS_JAR)
$(BROKER_STAMP): jvm/broker/pom.xml jvm/settings.xml
	@command -v mvn >/dev/null || { echo "Maven is needed to resolve the jars (apt-get install maven, or the conda env)"; exit 1; }
	rm -rf jvm/broker/lib
	$(MVN) -f jvm/broker/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/jvm/broker/lib -DincludeScope=runtime
	touch $@
$(CONNECTOR_STAMP): jvm/connector/pom.xml jvm/settings.xml
	@command -v mvn >/dev/null || { echo "Maven is needed to resolve the jars (apt-get install maven, or the conda env)"; exit 1; }
	rm -rf jvm/connector/lib
	$(MVN) -f jvm/connector/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/jvm/connector/lib -DincludeScope=runtime
	touch $@
# data_gen's fast path into Kafka: one Java class compiled against the broker's kafka-clients jar.
$(PRODUCER_JAR): jvm/producer/PipeProducer.java $(BROKER_STAMP)
	@command -v javac >/dev/null || { echo "javac is needed to build data_gen's producer (a JDK, not only a JRE: apt-get install openjdk-17-jdk-headless)"; exit 1; }
	rm -rf jvm/producer/lib && mkdir -p jvm/producer/lib/classes
	javac --release 17 -nowarn -cp 'jvm/broker/lib/*' -d jvm/producer/lib/classes jvm/producer/PipeProducer.java
	jar cf $@ -C jvm/producer/lib/classes .
# Lesson 04's consumer group / share group tool: one Java class on the broker's own Kafka clients (kafka-python
# has no share groups).
$(QUEUE_LAB_JAR): jvm/queues/QueueLab.java $(BROKER_STAMP)
	@command -v javac >/dev/null || { echo "javac is needed to build the kit's share-group tool (a JDK, not only a JRE: apt-get install openjdk-17-jdk-headless)"; exit 1; }
	rm -rf jvm/queues/lib && mkdir -p jvm/queues/lib/classes
	javac --release 17 -nowarn -cp 'jvm/broker/lib/*' -d jvm/queues/lib/classes jvm/queues/QueueLab.java
	jar cf $@ -C jvm/queues/lib/classes .
# Spark's local file system without a chmod process per file (see the class's comment): one Java class
# compiled against the Hadoop API jar that pip's pyspark ships.
$(LOCALFS_JAR): jvm/localfs/NioLocalFileSystem.java $(INSTALL_STAMP)
	@command -v javac >/dev/null || { echo "javac is needed to build the kit's local file system class (a JDK, not only a JRE: apt-get install openjdk-17-jdk-headless)"; exit 1; }
	rm -rf jvm/localfs/lib && mkdir -p jvm/localfs/lib/classes
	javac --release 17 -nowarn -cp "$$($(PY) -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars", "*"))')" \
		-d jvm/localfs/lib/classes jvm/localfs/NioLocalFileSystem.java
	jar cf $@ -C jvm/localfs/lib/classes .

demo: install jars
	$(PY) -m etl_lib demo

# JupyterLab on study/, the student's git-ignored copy of the notebooks (REFRESH=1: replace copies that differ
# from the kit's, keeping the student's beside them)
lab: install jars
	$(PY) -m etl_lib lab $(if $(REFRESH),--refresh)

# Your own copies (study/exercises, made by make lab) when you have them, else the kit's exercises/.
FOLDER ?= $(if $(wildcard study/exercises),study/exercises,exercises)
grade: install jars
	$(PY) -m etl_lib exercises grade $(FOLDER)

# Unit, integration and papermill (parameter injection) tests, and each notebook executed once and held
# to its stored outputs (strict nbval).  The three suites run side by side: alone, the integration tests and
# the notebooks each keep 2 cores only about 60 % busy (tasks wait on Kafka and the disk; soak tests and live
# replays wait on the clock), so together they finish in about the time of the longest.  Each suite's report
# is printed when it ends.
test: install jars
	@echo "make test: the JVM-free tests, the integration tests and the notebooks (strict nbval) run side by side;" \
	      "each report appears when its suite ends (about 10 minutes on 2 cores)"
	@$(MAKE) --no-print-directory -j3 $(OUTPUT_SYNC) test-unit test-integration test-nbval
# GNU make 3.81 (macOS's own) has no --output-sync: there the three suites' lines interleave.
OUTPUT_SYNC := $(if $(filter 3.%,$(MAKE_VERSION)),,--output-sync=target)

# The whole pytest suite in one process (testpaths in pyproject.toml), without the notebooks' nbval run.
test-pytest: install jars
	$(PY) -m pytest $(DOCTESTS) tests/unit tests/integration tests/notebooks

test-nbval: install jars
	$(PY) -m pytest --nbval --nbval-current-env -p no:cacheprovider notebooks $(LONG_LESSONS:%=--ignore=%)

# The long lane, apart from `make test` to keep that under 10 minutes on 2 cores; CI runs it right after.
# The practice cluster (3 Kafka nodes, Spark master + 2 workers: six more JVMs): its test and lesson 12; the
# lessons that watch a running stream (09, the orchestrator; 10, the live chart); and the integration tests
# marked `soak` (the ETL killed at random moments, the broker killed mid-produce, every query through empty batches
# and a restart, a failed query named, either stage restarted, the ETL with 30-minute windows).
LONG_LESSONS := notebooks/09_orchestrator.ipynb notebooks/10_live_stream.ipynb notebooks/12_scale_out.ipynb
test-cluster: install jars
	$(PY) -m pytest -p no:cacheprovider -m soak tests/integration
	$(PY) -m pytest --nbval --nbval-current-env -p no:cacheprovider tests/cluster $(LONG_LESSONS)

# Every notebook executed by papermill with small parameters (a world other than the stored one).
test-notebooks-small: install jars
	NOTEBOOKS_SMALL=1 $(PY) -m pytest -p no:cacheprovider tests/notebooks -k small_parameters

# The JVM-free tests: the library's units and its docstring examples, and the notebooks' skeleton and
# papermill parameters.
DOCTESTS := --doctest-modules etl_lib data_gen
test-unit: install
	$(PY) -m pytest $(DOCTESTS) tests/unit tests/notebooks

test-integration: install jars
	$(PY) -m pytest -m "not soak" tests/integration

broker-start: install jars
	$(PY) -m etl_lib broker start
broker-stop: install
	$(PY) -m etl_lib broker stop
broker-status: install
	$(PY) -m etl_lib broker status

# A practice cluster on this machine: 3 KRaft brokers + a Spark standalone master with 2 workers.
cluster-up: install jars
	$(PY) -m etl_lib cluster up
cluster-down: install
	$(PY) -m etl_lib cluster down
cluster-status: install
	$(PY) -m etl_lib cluster status

config: install
	$(PY) -m etl_lib config

# The lessons' Remember cells on one printable page; the check needs Chromium (Debian: apt-get install chromium).
cheatsheet: install
	$(PY) tools/lessons.py build
	$(PY) tools/cheatsheet.py build
	$(PY) tools/cheatsheet.py check

doctor: install jars
	$(PY) -m etl_lib doctor

notebooks: install jars
	$(PY) tools/run_notebooks.py --out build/notebooks

# LESSON="06" (or "06 07") re-executes only those lessons; without it, all of them.
notebooks-refresh: install jars
	$(PY) tools/lessons.py build
	$(PY) tools/run_notebooks.py --in-place $(LESSON)

# After editing a lesson's source in notebooks/lessons/: carry it into its notebook (outputs of unchanged cells kept).
notebooks-build: install
	$(PY) tools/lessons.py build

# Fails when a notebook and its source in notebooks/lessons/ differ.
notebooks-check: install
	$(PY) tools/lessons.py check
	$(PY) tools/exercises.py check

bench: install jars
	$(PY) bench/foundation.py
	$(PY) bench/bfd.py --skip-binpacking
	$(PY) bench/streaming_throughput.py
	$(PY) bench/data_gen_kafka.py
	$(PY) bench/etl_throughput.py --full

clean:
	rm -rf data build .pytest_cache .hypothesis
