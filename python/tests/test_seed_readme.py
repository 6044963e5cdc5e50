"""The session of the seed's README (rediscluster-py), verbatim but for the ports and today's
redis-py return types (bytes, sets of bytes)."""

import rediscluster


def seed_cluster(dev_cluster):
    node_1, node_2, node_3 = dev_cluster["masters"]
    return {
        # node names
        "nodes": {  # masters
            "node_1": {"host": "127.0.0.1", "port": node_1},
            "node_2": {"host": "127.0.0.1", "port": node_2},
            "node_3": {"host": "127.0.0.1", "port": node_3},
        }
    }


def test_readme_session(dev_cluster, config):
    cluster = seed_cluster(dev_cluster)
    ports = dict(zip(["node_1", "node_2", "node_3"], dev_cluster["masters"], strict=True))

    def at(name):
        return {name: {"host": "127.0.0.1", "port": ports[name]}}

    r = rediscluster.StrictRedisCluster(cluster=cluster, db=0)
    assert r.set("foo", "bar") is True
    assert r.get("foo") == b"bar"

    # Read commands go to replicas unless mastersonly=True.
    r = rediscluster.StrictRedisCluster(cluster=cluster, db=0, mastersonly=True)
    assert r.getnodefor("foo") == at("node_3")

    # Hash tags: "foo" is the hash key, "bar" the stored name.
    assert r.get("bar{foo}") is None
    assert r.mset({"bar{foo}": "bar", "foo": "foo"}) is True
    assert r.mget(["bar{foo}", "foo"]) == [b"bar", b"foo"]

    # Multi-key commands across nodes still give the right answer.
    assert r.sadd("foo2", *["a1", "a2", "a3"]) == 3
    assert r.sadd("bar2", *["b1", "a2", "b3"]) == 3
    assert r.sdiffstore("foobar", "foo2", "bar2") == 2
    assert r.smembers("foobar") == {b"a1", b"a3"}
    nodes = {name for key in ("foo2", "bar2", "foobar") for name in r.getnodefor(key)}
    assert len(nodes) > 1, "the example spans nodes"


def test_readme_with_its_two_masters(dev_cluster, config):
    """The README's own numbers: with two masters, foo is on node_2, bar on node_1."""
    node_1, node_2, _ = dev_cluster["masters"]
    cluster = {
        "nodes": {
            "node_1": {"host": "127.0.0.1", "port": node_1},
            "node_2": {"host": "127.0.0.1", "port": node_2},
        }
    }
    r = rediscluster.StrictRedisCluster(cluster=cluster, db=0, mastersonly=True)
    assert r.set("foo", "bar") is True
    assert r.get("foo") == b"bar"
    assert r.getnodefor("foo") == {"node_2": {"host": "127.0.0.1", "port": node_2}}
    assert r.get("bar{foo}") is None
    r.mset({"bar{foo}": "bar", "foo": "foo"})
    assert r.mget(["bar{foo}", "foo"]) == [b"bar", b"foo"]
    r.delete("foo", "bar")  # the README's next part starts from empty keys
    assert r.sadd("foo", *["a1", "a2", "a3"]) == 3
    assert r.sadd("bar", *["b1", "a2", "b3"]) == 3
    assert r.sdiffstore("foobar", "foo", "bar") == 2
    assert r.smembers("foobar") == {b"a1", b"a3"}
    assert r.getnodefor("foo") == {"node_2": {"host": "127.0.0.1", "port": node_2}}
    assert r.getnodefor("bar") == {"node_1": {"host": "127.0.0.1", "port": node_1}}
    assert r.getnodefor("foobar") == {"node_2": {"host": "127.0.0.1", "port": node_2}}


def test_info_answers_per_node(r):
    info = r.info()
    assert set(info) == {"node_1", "node_2", "node_3"}
    assert all("redis_version" in node_info for node_info in info.values())
