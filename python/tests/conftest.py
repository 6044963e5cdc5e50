"""Real servers for the Python suite, on the ports in tests/ports.env (PYTHON_TEST_BASE_PORT):

* a dev cluster from tests/cluster.sh on BASE..BASE+5 (3 masters, each with a replica),
* extra plain servers this file starts itself from BASE+6 (an oracle for differential tests,
  spare nodes for failure tests), stopped by their own process handle.

Nothing here touches a server it did not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis
from redis_servers import Server

import rediscluster

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = ROOT / "tests" / "cluster.sh"


def _ports_env():
    values = {}
    for line in (ROOT / "tests" / "ports.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            values[name.strip()] = int(value.strip())
    return values


BASE = _ports_env()["PYTHON_TEST_BASE_PORT"]
ORACLE_PORT = BASE + 6
# A port inside our range where nothing listens (dead-node tests).
DEAD_PORT = BASE + 9
# Free for tests that start their own servers (spare_server fixture).
SPARE_PORTS = range(BASE + 10, BASE + 20)


@contextlib.contextmanager
def _cluster_sh(base, prefix, **env):
    """A tests/cluster.sh cluster on BASE..BASE+5 (``env``: e.g. its CLUSTER_KIND), in its own
    state directory: yields its client config; stopped on the way out."""
    env = dict(os.environ, REDISCLUSTER_DEV_DIR=tempfile.mkdtemp(prefix=prefix), **env)
    subprocess.run(
        [str(CLUSTER_SH), "start", str(base)], check=True, env=env, stdout=subprocess.DEVNULL
    )
    try:
        yield json.loads(
            subprocess.run(
                [str(CLUSTER_SH), "config", str(base)],
                check=True,
                env=env,
                capture_output=True,
                text=True,
            ).stdout
        )
    finally:
        subprocess.run([str(CLUSTER_SH), "stop", str(base)], env=env, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def dev_cluster():
    """The tests/cluster.sh cluster: its config (masters only) and the ports."""
    with _cluster_sh(BASE, "rediscluster-py-") as config:
        yield {
            "config": config,
            "masters": [BASE, BASE + 1, BASE + 2],
            "replicas": [BASE + 3, BASE + 4, BASE + 5],
        }


@pytest.fixture(scope="module")
def redis_cluster_servers():
    """A real Redis Cluster from tests/cluster.sh (CLUSTER_KIND=redis_cluster) on
    REDIS_CLUSTER_TEST_BASE_PORT..+5: its client config and the ports. Module-scoped: only
    test_redis_cluster.py starts it."""
    base = _ports_env()["REDIS_CLUSTER_TEST_BASE_PORT"]
    with _cluster_sh(base, "rediscluster-py-rc-", CLUSTER_KIND="redis_cluster") as config:
        yield {"config": config, "masters": [base, base + 1, base + 2]}


@pytest.fixture(scope="session")
def oracle_server():
    server = Server(ORACLE_PORT)
    yield server
    server.stop()


def _flush_all(dev_cluster):
    for port in dev_cluster["masters"]:
        master = redis.Redis(port=port)
        master.execute_command("FLUSHALL")
        # Replicas must see the flush before a test reads from them.
        master.execute_command("WAIT", 1, 2000)
        master.close()


@pytest.fixture
def config(dev_cluster):
    """A fresh copy of the masters-only cluster config; every server flushed."""
    _flush_all(dev_cluster)
    return json.loads(json.dumps(dev_cluster["config"]))


@pytest.fixture
def r(config):
    """The client under test: reads on masters (read-your-writes)."""
    client = rediscluster.StrictRedisCluster(cluster=config, db=0, mastersonly=True)
    yield client
    client.close()


@pytest.fixture
def oracle(oracle_server):
    """One plain redis-py client on one plain server: what the cluster must look like."""
    client = oracle_server.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def master_clients(dev_cluster):
    """Direct redis-py clients on each master, by node name."""
    clients = {
        f"node_{i + 1}": redis.Redis(port=port) for i, port in enumerate(dev_cluster["masters"])
    }
    yield clients
    for client in clients.values():
        client.close()
