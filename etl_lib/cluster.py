"""Older home of the practice cluster (:mod:`etl_lib.core.cluster`); ``python -m etl_lib.cluster up|down|status``."""

import sys

from .core.cluster import Cluster, ClusterError, cluster_folder, main

__all__ = ["Cluster", "ClusterError", "cluster_folder", "main"]

if __name__ == "__main__":
    sys.exit(main())
