"""StrictRedisCluster over a real Redis Cluster (``{'redis_cluster': {'nodes': [...]}}``): the
same client class, the cluster's own placement, redis-py's exceptions."""

from __future__ import annotations

import asyncio

import pytest
import redis

import rediscluster
import rediscluster.asyncio
from rediscluster.exceptions import CrossNodeError


@pytest.fixture
def rc(redis_cluster_servers):
    client = rediscluster.StrictRedisCluster(cluster=redis_cluster_servers["config"])
    yield client
    client.flushall()
    client.close()


def direct(port):
    return redis.Redis(port=port)


def test_it_is_the_same_drop_in_class(rc, redis_cluster_servers):
    assert isinstance(rc, redis.Redis)
    assert sorted(rc.nodes) == sorted(f"127.0.0.1:{p}" for p in redis_cluster_servers["masters"])


def test_keys_are_stored_where_the_cluster_says(rc, redis_cluster_servers):
    seed = direct(redis_cluster_servers["masters"][0])
    keys = [f"key:{i}" for i in range(300)] + ["bar{foo}", "{foo}", "a{}b", "x{y}{z}"]
    for key in keys:
        rc.set(key, key)
        ((name, address),) = rc.getnodefor(key).items()
        assert name == f"127.0.0.1:{address['port']}"
        # Under its full name, on the master serving its slot.
        assert direct(address["port"]).get(key) == key.encode()
        slot = seed.cluster("KEYSLOT", key)
        owners = [node for node in seed.cluster("SLOTS") if node[0] <= slot <= node[1]]
        assert owners[0][2][1] == address["port"], key
    assert rc.dbsize() == len(keys)


def test_commands_across_slots(rc):
    mapping = {f"m:{i}": str(i) for i in range(500)}
    assert rc.mset(mapping)
    assert rc.mget(list(mapping)) == [v.encode() for v in mapping.values()]
    assert rc.exists(*list(mapping)[:10], "missing") == 10
    assert set(rc.scan_iter(match="m:*", count=100)) == {k.encode() for k in mapping}
    rc.sadd("s:a", 1, 2)
    rc.sadd("s:b", 2, 3)
    assert rc.sunion("s:a", "s:b") == {b"1", b"2", b"3"}
    assert rc.delete(*mapping) == 500


def test_transactions_and_scripts_in_one_slot(rc):
    with rc.pipeline(transaction=True) as pipe:
        pipe.incr("{user:1}:visits").incr("{user:1}:clicks").mget(
            "{user:1}:visits", "{user:1}:clicks"
        )
        assert pipe.execute() == [1, 1, [b"1", b"1"]]
    add = rc.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert add(keys=["{user:1}:visits"], args=[4]) == 5
    with pytest.raises(CrossNodeError) as refused:
        with rc.pipeline(transaction=True) as pipe:
            pipe.incr("a:1").incr("a:2").execute()
    assert "slot " in str(refused.value)


def test_watch_and_locks(rc):
    def bump(pipe):
        value = int(pipe.get("{acct}:balance") or 0)
        pipe.multi()
        pipe.set("{acct}:balance", value + 10)

    rc.transaction(bump, "{acct}:balance")
    assert rc.get("{acct}:balance") == b"10"
    lock = rc.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not rc.lock("resource").acquire(blocking=False)
    lock.release()


def test_publish_reaches_a_subscriber(rc):
    pubsub = rc.pubsub()
    pubsub.subscribe("news")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    assert rc.publish("news", "hello") >= 1
    message = pubsub.get_message(timeout=2)
    assert message["data"] == b"hello"
    pubsub.close()


def test_config_errors_are_redis_py_errors():
    with pytest.raises(rediscluster.exceptions.ClusterConfigError, match="only database 0"):
        rediscluster.StrictRedisCluster(cluster={"redis_cluster": {"nodes": ["h:1"]}}, db=3)
    with pytest.raises(redis.ConnectionError):
        rediscluster.StrictRedisCluster(cluster={"redis_cluster": {"nodes": ["127.0.0.1:1"]}})


def test_the_asyncio_client_on_a_redis_cluster(redis_cluster_servers):
    async def main():
        client = rediscluster.asyncio.StrictRedisCluster(
            cluster=redis_cluster_servers["config"], mastersonly=True
        )
        try:
            keys = [f"a:{i}" for i in range(200)]
            await asyncio.gather(*(client.set(key, key) for key in keys))
            values = await asyncio.gather(*(client.get(key) for key in keys))
            assert values == [key.encode() for key in keys]
            assert await client.mget(keys) == values
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr("{t}x").incr("{t}y")
                assert await pipe.execute() == [1, 1]
            ((name, address),) = client.getnodefor("a:1").items()
            assert name == f"127.0.0.1:{address['port']}"
        finally:
            await client.flushall()
            await client.aclose()

    asyncio.run(main())


def test_a_live_move_from_client_side_shards(config, dev_cluster, redis_cluster_servers, rc):
    """The dev cluster's three masters (tags stripped) into the Redis Cluster, live: a client
    with ``previous`` reads every key not moved yet on its old master under its old name,
    writes to the cluster, and ``tools.reshard`` moves the rest under the names clients
    write."""
    from rediscluster import tools

    old = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    tagged = [f"user:{i}:cart{{user:{i}}}" for i in range(40)]
    for key in tagged:
        old.set(key, f"old {key}")
    old.hset("user:7:h{user:7}", mapping={"a": "1", "b": "2"})
    old.set("plain", "p")
    assert old.execute_command("GET", "user:3:cart{user:3}") == b"old user:3:cart{user:3}"

    moving = dict(redis_cluster_servers["config"], previous=config)
    window = rediscluster.StrictRedisCluster(cluster=moving)
    assert [window.get(key) for key in tagged] == [f"old {k}".encode() for k in tagged]
    assert window.mget(tagged) == [f"old {k}".encode() for k in tagged]
    assert window.hgetall("user:7:h{user:7}") == {b"a": b"1", b"b": b"2"}
    pipe = window.pipeline(transaction=False)
    pipe.get("plain").exists("user:1:cart{user:1}").hget("user:7:h{user:7}", "b")
    assert pipe.execute() == [b"p", 1, b"2"]
    # Writes go to the cluster, under the full name (the key moved there first); the window
    # then reads them there.
    window.set(tagged[0], "new")
    assert old.get(tagged[0]) is None
    assert rc.get(tagged[0]) == b"new" and window.get(tagged[0]) == b"new"

    # A write acts on the value the key had on its old master, found under its old name: a
    # counter counts on, a held lock (redis-py's Lock: SET NX) stays held; the key leaves the
    # old master.
    old.set("hits{user:9}", 41)
    old.set("lock:report{user:9}", "someone")
    assert window.incr("hits{user:9}") == 42
    assert not window.lock("lock:report{user:9}").acquire(blocking=False)
    assert old.exists("hits{user:9}", "lock:report{user:9}") == 0
    assert rc.get("lock:report{user:9}") == b"someone"
    rc.delete("hits{user:9}", "lock:report{user:9}")  # not part of the move's count below

    summary = tools.reshard(config, redis_cluster_servers["config"], tag_rule=r"^(user:\d+):")
    assert summary["unplaceable"] == 0
    # The window's SET moved its key first: the move does not meet it again.
    assert summary["moved"] == len(tagged) + 1
    assert summary["newer_on_destination"] == 0
    assert rc.get(tagged[0]) == b"new"
    assert [rc.get(key) for key in tagged[1:]] == [f"old {k}".encode() for k in tagged[1:]]
    assert rc.hgetall("user:7:h{user:7}") == {b"a": b"1", b"b": b"2"}
    assert sum(direct(port).dbsize() for port in dev_cluster["masters"]) == 0
    window.close()
    old.close()
