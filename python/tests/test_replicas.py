"""Replicas: discovered (INFO replication) or given by ``master_of``; reads answered by a
replica, writes by the master; ``mastersonly`` keeps reads on the masters."""

import time

import pytest
import redis

import rediscluster


def get_calls(port):
    """How many GETs the server on `port` has answered."""
    stats = redis.Redis(port=port).info("commandstats")
    return stats.get("cmdstat_get", {}).get("calls", 0)


def wait_replicated(master_port):
    master = redis.Redis(port=master_port)
    master.execute_command("WAIT", 1, 2000)


@pytest.fixture
def placed(dev_cluster, config):
    """A key on node_1 written through a masters-only client, replicated."""
    writer = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    key = next(f"k{i}" for i in range(100) if "node_1" in writer.getnodefor(f"k{i}"))
    writer.set(key, "v")
    wait_replicated(dev_cluster["masters"][0])
    return key


def reads_by(port_of_master, port_of_replica, client, key, n=20):
    before = get_calls(port_of_master), get_calls(port_of_replica)
    for _ in range(n):
        assert client.get(key) == b"v"
    after = get_calls(port_of_master), get_calls(port_of_replica)
    return after[0] - before[0], after[1] - before[1]


def test_discovered_replicas_answer_reads(dev_cluster, config, placed):
    master, replica = dev_cluster["masters"][0], dev_cluster["replicas"][0]
    r = rediscluster.StrictRedisCluster(cluster=config)
    assert [x["port"] for x in r.replicas()["node_1"]] == [replica]
    assert reads_by(master, replica, r, placed) == (0, 20)
    # Writes go to the master.
    assert r.set(placed, "v") is True
    assert redis.Redis(port=master).get(placed) == b"v"


def test_mastersonly_keeps_reads_on_the_masters(dev_cluster, config, placed):
    master, replica = dev_cluster["masters"][0], dev_cluster["replicas"][0]
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    assert reads_by(master, replica, r, placed) == (20, 0)


def test_master_of_names_the_replicas(dev_cluster, config, placed):
    masters, replicas = dev_cluster["masters"], dev_cluster["replicas"]
    cluster = {"nodes": dict(config["nodes"]), "master_of": {}}
    for i, port in enumerate(replicas):
        cluster["nodes"][f"replica_{i + 1}"] = {"host": "127.0.0.1", "port": port}
        cluster["master_of"][f"node_{i + 1}"] = f"replica_{i + 1}"
    r = rediscluster.StrictRedisCluster(cluster=cluster)
    assert r.nodes == config["nodes"], "replicas do not count for placement"
    assert r.getnodefor(placed) == {"node_1": config["nodes"]["node_1"]}
    assert reads_by(masters[0], replicas[0], r, placed) == (0, 20)


def test_a_replica_that_fails_is_rested_and_the_master_answers(dev_cluster, config, placed):
    from conftest import DEAD_PORT

    master = dev_cluster["masters"][0]
    cluster = {"nodes": dict(config["nodes"]), "master_of": {"node_1": "gone"}}
    cluster["nodes"]["gone"] = {"host": "127.0.0.1", "port": DEAD_PORT}
    r = rediscluster.StrictRedisCluster(cluster=cluster, socket_connect_timeout=0.5)
    before = get_calls(master)
    started = time.monotonic()
    for _ in range(10):
        assert r.get(placed) == b"v"
    assert time.monotonic() - started < 2.0, "the dead replica is tried once, then rested"
    assert get_calls(master) - before == 10
