"""``python -m etl_lib <command>``: every command of the kit, one way.

Each command is the ``main`` of the module that owns it, handed the rest of the command line::

    python -m etl_lib broker start|status|stop     the local Kafka broker (etl_lib.core.broker)
    python -m etl_lib cluster up|status|down       the practice cluster (etl_lib.core.cluster)
    python -m etl_lib config [--json]              every setting and where it came from (etl_lib.config)
    python -m etl_lib doctor                       is this machine ready, and the fix for what is not
    python -m etl_lib demo                         make demo: the main job end to end on the local broker
    python -m etl_lib lab [--refresh]              make lab: JupyterLab on your own copy of the notebooks
    python -m etl_lib run [...]                    the ETL job itself, seed 003's main (etl_lib.main)
    python -m etl_lib pipelines [...]              seed 000's thread pipelines
    python -m etl_lib commit-log [...]             what a file sink committed, and its orphans
    python -m etl_lib exercises grade|grade-class|prove|list   the graded exercises

``python -m data_gen`` (the simulated world, a package of its own) is the one command outside it.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module whose main() it runs, what it does)
COMMANDS = {
    "broker": ("etl_lib.core.broker", "start, stop or look at the local Kafka broker"),
    "cluster": ("etl_lib.core.cluster", "start, stop or look at the practice cluster (3 Kafka nodes, Spark workers)"),
    "config": ("etl_lib.config", "print every setting and where it came from"),
    "doctor": ("etl_lib.lab.doctor", "check that this machine is ready, with the fix for what is not"),
    "demo": ("etl_lib.lab.demo", "make demo: the main job end to end on the local broker"),
    "lab": ("etl_lib.lab.study", "make lab: JupyterLab on your own working copy of the notebooks (study/)"),
    "run": ("etl_lib.main", "the ETL job: the four topics to Parquet and the analytics (seed 003's main)"),
    "pipelines": ("etl_lib.pipelines.__main__", "seed 000's thread/queue pipelines"),
    "commit-log": ("etl_lib.commit_log", "what a Spark file sink committed; the files no batch committed"),
    "exercises": ("etl_lib.exercises.__main__", "grade the exercises, a class, or prove the grader"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    return "usage: python -m etl_lib <command> [options]\n\ncommands:\n" + "".join(
        f"  {name:<{width}}  {what}\n" for name, (_, what) in COMMANDS.items()) + (
        "\n`python -m etl_lib <command> --help` tells the options of one.\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"Error: no command {command!r}.\n{usage()}", end="", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[command][0]).main(rest)


if __name__ == "__main__":
    sys.exit(main())
