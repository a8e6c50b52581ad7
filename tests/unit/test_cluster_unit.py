"""The practice cluster without starting it: ports from the settings, and the watcher that stops it when its owner
(a notebook kernel) ends however it ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from etl_lib.core.cluster import Cluster, _ours
from etl_lib.config import load_settings


def test_ports_come_from_the_settings(tmp_path):
    s = load_settings({"DATA_DIR": str(tmp_path), "CLUSTER_KAFKA_PORT": "29092", "CLUSTER_SPARK_PORT": "17077",
                       "CLUSTER_SPARK_UI_PORT": "18080"})
    c = Cluster.of(s)
    assert c.folder == tmp_path / "cluster"
    assert c.bootstrap_servers == "127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094"
    assert c.controller_ports == (29192, 29193, 29194)
    assert c.spark_master == "spark://127.0.0.1:17077" and c.ui_url == "http://127.0.0.1:18080"
    assert c.worker_ui_ports == (18081, 18082)
    assert "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094" in c.exports()
    default = Cluster.of(load_settings({"DATA_DIR": str(tmp_path)}))
    assert default.bootstrap_servers.startswith("127.0.0.1:19092") and default.spark_master.endswith(":7077")


def test_the_watcher_stops_the_cluster_when_its_owner_dies(tmp_path):
    folder = tmp_path / "cluster"
    folder.mkdir()
    # Stand-ins for the cluster's JVMs: processes carrying the cluster's marker, as the real ones do.
    env = {**os.environ, "SPARK_DAEMON_JAVA_OPTS": f"-Detl.kit.cluster={folder}"}
    members = [subprocess.Popen(["sleep", "300"], env=env, start_new_session=True) for _ in range(2)]
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    try:
        (folder / "cluster.json").write_text(json.dumps({f"m{i}": p.pid for i, p in enumerate(members)}))
        cluster = Cluster.load(folder)
        assert all(cluster.alive().values())
        cluster.stop_when_gone(owner.pid)
        time.sleep(0.5)
        assert all(_ours(p.pid, folder) for p in members), "nothing stops while the owner lives"
        owner.wait(timeout=10)
        deadline = time.monotonic() + 20
        while ((any(p.poll() is None for p in members) or (folder / "cluster.json").exists())
               and time.monotonic() < deadline):
            time.sleep(0.2)
        assert all(p.poll() is not None for p in members), "the owner's end stopped every member"
        assert not (folder / "cluster.json").exists(), "and forgot them"
    finally:
        for p in members:
            if p.poll() is None:
                p.kill()
