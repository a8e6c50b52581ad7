"""Older home of the local broker and the Kafka admin helpers, kept so that lessons and old imports work.

The broker lives in :mod:`etl_lib.core.broker`, the admin helpers in
:mod:`etl_lib.core.kafka` and a node's files in :mod:`etl_lib.core.node`.
``python -m etl_lib.kafka_local start|status|stop`` still runs the broker's program.
"""

import sys

from .core.broker import LocalKafka, default_data_dir, ensure_broker, main
from .core.errors import BrokerError
from .core.kafka import (bootstrap_hosts, broker_answers, client_options, consumer_groups, create_topics,
                         end_offsets, ensure_topics, free_port, may_reset_topics, reset_topics)
from .core.node import new_cluster_id, storage_format_command

__all__ = ["BrokerError", "LocalKafka", "bootstrap_hosts", "broker_answers", "client_options", "consumer_groups",
           "create_topics", "default_data_dir", "end_offsets", "ensure_broker", "ensure_topics", "free_port",
           "may_reset_topics", "new_cluster_id", "reset_topics", "storage_format_command"]

if __name__ == "__main__":
    sys.exit(main())
