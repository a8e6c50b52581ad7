"""The kit's foundation (floor 0): settings, errors, the command-line wrapper, Java, Kafka, analytics, record kinds.

Nothing here imports another floor: ``data_gen`` and the Spark stages stand
on it, and the lab layer (notebooks, demo, doctor) stands on those.

- ``settings``  every setting, declared once, read from environment variables
- ``values``    the parsers of setting values: durations, sizes, true/false, ports, paths
- ``errors``    :class:`KitError` and its kinds, each with an exit code
- ``cli``       the wrapper every ``main()`` runs in, argument types
- ``catalog``   the analytics registry (flag, name, title, inputs, functions)
- ``kinds``     the four kinds of record (id, topic setting, event time, id field, folder, parser)
- ``jvm``       finding Java and the Maven-resolved jars
- ``kafka``     the clients' security options, is a broker there, topics, offsets
- ``node``      one KRaft node's files and command line
- ``broker``    the local single-node broker
- ``sharing``   which kit runs use a broker: no run resets or stops what another live run uses
- ``cluster``   the practice cluster (three nodes, Spark master and workers)
- ``variants``  one stable seed per student id (their own world and hidden cases)
"""
