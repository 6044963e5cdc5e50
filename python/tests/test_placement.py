"""The placement contract from Python: every golden vector of tests/vectors/placement.json, through
``getnodefor`` and through the master that physically holds the key after a write."""

import base64
import json
import re

import pytest

import rediscluster
from conftest import ROOT
from rediscluster import _core

VECTORS = json.loads((ROOT / "tests" / "vectors" / "placement.json").read_text())
ROWS = VECTORS["vectors"] if isinstance(VECTORS, dict) else VECTORS


def key_of(row):
    """The key as a Python user would pass it: an int, a str, or bytes."""
    if row.get("int") is not None:
        return row["int"]
    if row.get("key") is not None:
        return row["key"]
    return base64.b64decode(row["key_b64"])


def test_there_are_vectors_of_every_kind():
    kinds = {row["kind"] for row in ROWS}
    assert {"seed", "ascii", "utf8", "binary", "integer", "tag", "edge"} <= kinds
    assert len(ROWS) > 800


def test_every_vector_for_every_cluster_size():
    for row in ROWS:
        key = key_of(row)
        for masters, node in enumerate(row["nodes"], start=1):
            # `nodes[N-1]` is the 1-based node number among N masters.
            assert _core.node_index(key, masters) + 1 == node, (row["key_b64"], masters)


def test_getnodefor_and_the_server_that_holds_each_key(r, master_clients):
    ports = {
        name: client.connection_pool.connection_kwargs["port"]
        for name, client in master_clients.items()
    }
    for row in ROWS:
        key = key_of(row)
        expected = f"node_{row['nodes'][2]}"  # three masters
        assert r.getnodefor(key) == {expected: {"host": "127.0.0.1", "port": ports[expected]}}
    # Written through the cluster, each key is stored (under its stored name) on that master
    # and nowhere else.
    pipe = r.pipeline(transaction=False)
    for row in ROWS:
        pipe.set(key_of(row), row["kind"])
    assert all(pipe.execute())
    for row in ROWS:
        stored = base64.b64decode(row["stored_b64"])
        holders = [name for name, client in master_clients.items() if client.exists(stored)]
        assert f"node_{row['nodes'][2]}" in holders, row["key_b64"]


@pytest.mark.parametrize(
    ("key", "route"),
    [("bar{foo}", "foo"), ("{b}", "{b}"), ("a{}", "a{}"), ("a{b}c", "a{b}c"), ("x{y}{z}", "z")],
)
def test_tags_follow_the_contract(r, key, route):
    assert r.getnodefor(key) == r.getnodefor(route)


# --------------------------------------------------------------------------------------------
# The opt-in modes (tests/vectors/placement_modes.json): tags kept, routing rules, both.
# --------------------------------------------------------------------------------------------

MODES = json.loads((ROOT / "tests" / "vectors" / "placement_modes.json").read_text())["modes"]


def offline_cluster(masters, mode_config):
    """A client over `masters` nodes nobody listens on: placement needs only their number."""
    nodes = {f"node_{i}": {"host": "127.0.0.1", "port": 1000 + i} for i in range(1, masters + 1)}
    return rediscluster.StrictRedisCluster(
        cluster={"nodes": nodes, **mode_config}, mastersonly=True
    )


def test_the_modes_file_covers_each_mode():
    assert [mode["name"] for mode in MODES] == ["keep", "rules", "rules-keep"]
    for mode in MODES:
        assert len(mode["vectors"]) >= 1000
        ruled = [row for row in mode["vectors"] if row["rule"] is not None]
        assert bool(ruled) == ("routing_rules" in mode["config"])


@pytest.mark.parametrize("mode", MODES, ids=[mode["name"] for mode in MODES])
def test_every_mode_vector_through_getnodefor(mode):
    for masters in range(1, 17):
        client = offline_cluster(masters, mode["config"])
        for row in mode["vectors"]:
            expected = f"node_{row['nodes'][masters - 1]}"
            assert list(client.getnodefor(key_of(row))) == [expected], (row["key_b64"], masters)
        client.close()


@pytest.mark.parametrize("mode", MODES, ids=[mode["name"] for mode in MODES])
def test_every_mode_vector_is_stored_on_its_master_under_its_stored_name(
    config, master_clients, mode
):
    client = rediscluster.StrictRedisCluster(cluster={**config, **mode["config"]}, mastersonly=True)
    pipe = client.pipeline(transaction=False)
    for row in mode["vectors"]:
        pipe.set(key_of(row), row["kind"])
    assert all(pipe.execute())
    for row in mode["vectors"]:
        stored = base64.b64decode(row["stored_b64"])
        expected = f"node_{row['nodes'][2]}"
        assert master_clients[expected].exists(stored), (mode["name"], row["key_b64"])
    client.close()


def test_kept_tags_keep_limits_keys_apart(config, master_clients):
    # The `limits` library's keys: with the default stripping, two of them whose tags share a
    # master are the one key `LIMITS:` there.
    stripping = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    first = "LIMITS:{LIMITER/user1/5/1/minute}"
    second = next(
        key
        for key in (f"LIMITS:{{LIMITER/user{i}/5/1/minute}}" for i in range(2, 1000))
        if stripping.getnodefor(key) == stripping.getnodefor(first)
    )
    stripping.set(first, "1")
    stripping.set(second, "2")
    assert stripping.get(first) == b"2", "stripped: one key"
    stripping.flushall()
    keeping = rediscluster.StrictRedisCluster(cluster={**config, "tags": "keep"}, mastersonly=True)
    keeping.set(first, "1")
    keeping.set(second, "2")
    assert keeping.mget(first, second) == [b"1", b"2"]
    assert sorted(keeping.keys("LIMITS:*")) == sorted([first.encode(), second.encode()])
    node = next(iter(keeping.getnodefor(first)))
    assert node == next(iter(keeping.getnodefor("LIMITER/user1/5/1/minute")))
    assert master_clients[node].exists(first), "stored under its full name"
    assert keeping.getnodefor("{user1}:followers") == keeping.getnodefor("user1")
    stripping.close()
    keeping.close()


def test_a_routing_rule_keeps_a_locks_keys_together(config):
    plain = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    name = next(
        f"job{i}"
        for i in range(1000)
        if plain.getnodefor(f"lock:job{i}") != plain.getnodefor(f"lock-signal:job{i}")
    )
    ruled = rediscluster.StrictRedisCluster(
        cluster={**config, "routing_rules": [r"^lock(?:-signal)?:(.+)$"]}, mastersonly=True
    )
    assert ruled.getnodefor(f"lock:{name}") == ruled.getnodefor(f"lock-signal:{name}")
    assert ruled.getnodefor(f"lock:{name}") == plain.getnodefor(name)
    # A script over both keys runs on their master.
    ruled.rpush(f"lock-signal:{name}", 1)
    script = "return redis.call('SET', KEYS[1], 'held') and redis.call('LLEN', KEYS[2])"
    assert ruled.eval(script, 2, f"lock:{name}", f"lock-signal:{name}") == 1
    assert ruled.get(f"lock:{name}") == b"held"
    plain.close()
    ruled.close()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"routing_rules": ["^lock:(.+)$", "^lock:(.+"]}, "routing rule 2"),
        ({"routing_rules": ["^lock:.+$"]}, "no capture group"),
        ({"routing_rules": ["^lock:()$"]}, "empty route"),
        ({"routing_rules": "^lock:(.+)$"}, "a list of regular expressions"),
        ({"tags": "kept"}, "'tags'"),
    ],
)
def test_bad_placement_options_are_refused_before_connecting(config, extra, message):
    with pytest.raises(rediscluster.ClusterConfigError, match=re.escape(message)):
        rediscluster.StrictRedisCluster(cluster={**config, **extra})
