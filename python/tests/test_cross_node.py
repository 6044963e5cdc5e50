"""Every cross-node command against one plain ``redis.Redis``: the same calls on the cluster
(keys spread over three masters) and on one server give the same replies and the same data."""

import pytest
import redis

import rediscluster
from rediscluster import CrossNodeError

# Keys that spread over all three masters (checked below), without tags, so that one server
# sees the same names.
KEYS = ["a", "b", "c", "d", "e", "f", "g", "h"]


@pytest.fixture
def both(r, oracle):
    nodes = {name for key in KEYS for name in r.getnodefor(key)}
    assert nodes == {"node_1", "node_2", "node_3"}
    return r, oracle


def same(both, call):
    ours, theirs = (call(client) for client in both)
    assert ours == theirs
    return ours


def fill_sets(client):
    client.sadd("a", "1", "2", "3", "x")
    client.sadd("b", "2", "3", "4")
    client.sadd("c", "3", "4", "5", "x")


def fill_zsets(client):
    client.zadd("a", {"m1": 1, "m2": 2, "m3": 3})
    client.zadd("b", {"m2": 20, "m3": 30, "m4": 40})
    client.zadd("c", {"m3": 0.5, "m5": 5})


def test_split_commands(both):
    same(both, lambda c: c.mset({k: f"v-{k}" for k in KEYS}))
    same(both, lambda c: c.mget(KEYS + ["missing"]))
    same(both, lambda c: c.exists(*KEYS, "missing", "a"))
    same(both, lambda c: c.touch(*KEYS))
    same(both, lambda c: c.delete("a", "b", "missing"))
    same(both, lambda c: c.unlink("c", "d"))
    same(both, lambda c: c.mget(KEYS))
    same(both, lambda c: c.msetnx({"a": "1", "e": "2"}))
    same(both, lambda c: c.msetnx({"a": "1", "b": "2"}))
    same(both, lambda c: c.dbsize())
    same(both, lambda c: sorted(c.keys("*")))
    same(both, lambda c: sorted(c.scan_iter(match="*", count=2)))


def test_mget_values_of_every_shape_and_size(both, config):
    # MGET's values are gathered from the engine's read buffer element by element: values
    # larger than that 64 KiB buffer and split across reads, empty, binary, missing, a key of
    # another type (nil for MGET), in the caller's order; bytes, then decoded.
    values = {"big": b"x" * 200_000, "empty": b"", "bin": b"\x00\r\n\xff", "next": b"y" * 70_000}
    values.update({f"k{i}": str(i % 10).encode() * i for i in range(300)})
    same(both, lambda c: c.mset(values))
    same(both, lambda c: c.rpush("a list", "x"))
    keys = ["missing", *values, "big", "a list", "also missing"]
    assert len(same(both, lambda c: c.mget(keys))) == len(keys)
    oracle_port = both[1].connection_pool.connection_kwargs["port"]
    decoded = [
        rediscluster.StrictRedisCluster(cluster=config, mastersonly=True, decode_responses=True),
        redis.Redis(port=oracle_port, decode_responses=True),
    ]
    text_keys = [k for k in keys if k != "bin"]
    assert decoded[0].mget(text_keys) == decoded[1].mget(text_keys)
    # A value that is not UTF-8 fails decoding as redis-py's does.
    for client in decoded:
        with pytest.raises(UnicodeDecodeError):
            client.mget(["k5", "bin"])
        client.close()


def test_set_algebra(both):
    same(both, fill_sets)
    for op in ("sunion", "sinter", "sdiff"):
        same(both, lambda c, op=op: getattr(c, op)("a", "b", "c"))
        same(both, lambda c, op=op: getattr(c, f"{op}store")("d", "a", "b", "c"))
        same(both, lambda c: c.smembers("d"))
    same(both, lambda c: c.sintercard(3, ["a", "b", "c"]))
    same(both, lambda c: c.smove("a", "e", "1"))
    same(both, lambda c: (c.smembers("a"), c.smembers("e")))


def test_sorted_set_algebra(both):
    same(both, fill_zsets)
    same(both, lambda c: c.zunionstore("d", ["a", "b", "c"]))
    same(both, lambda c: c.zrange("d", 0, -1, withscores=True))
    same(both, lambda c: c.zinterstore("e", {"a": 2, "b": 1}, aggregate="MAX"))
    same(both, lambda c: c.zrange("e", 0, -1, withscores=True))
    same(both, lambda c: c.zdiffstore("f", ["a", "b"]))
    same(both, lambda c: c.zunion(["a", "b", "c"], withscores=True))
    same(both, lambda c: c.zinter(["a", "b"], withscores=True))
    same(both, lambda c: c.zdiff(["a", "c"]))
    same(both, lambda c: c.zintercard(2, ["a", "b"]))
    same(both, lambda c: c.zrangestore("g", "b", 0, 1))
    same(both, lambda c: c.zrange("g", 0, -1, withscores=True))
    same(both, lambda c: c.zmpop(2, ["h", "b"], min=True, count=2))
    same(both, lambda c: c.bzpopmax(["h", "a"], timeout=1))


def test_keys_lists_and_strings(both):
    same(both, lambda c: c.rpush("a", "1", "2", "3"))
    same(both, lambda c: c.set("b", "text", ex=100))
    same(both, lambda c: c.rename("b", "c"))
    same(both, lambda c: (c.get("c"), c.ttl("c") > 90))
    same(both, lambda c: c.renamenx("a", "c"))
    same(both, lambda c: c.copy("a", "d"))
    same(both, lambda c: c.lrange("d", 0, -1))
    same(both, lambda c: c.rpoplpush("a", "e"))
    same(both, lambda c: c.lmove("a", "e", "LEFT", "RIGHT"))
    same(both, lambda c: c.blmove("a", "e", 1, "LEFT", "LEFT"))
    same(both, lambda c: c.lrange("e", 0, -1))
    same(both, lambda c: c.blpop(["a", "f", "e"], timeout=1))
    same(both, lambda c: c.brpop(["f", "d"], timeout=1))
    same(both, lambda c: c.lmpop(2, "f", "d", direction="LEFT", count=5))
    same(both, lambda c: c.blpop(["f", "g"], timeout=0.05))
    same(both, lambda c: (c.pfadd("f", "x", "y"), c.pfadd("g", "y", "z")))
    same(both, lambda c: c.pfcount("f", "g"))
    same(both, lambda c: c.pfmerge("h", "f", "g"))
    same(both, lambda c: c.pfcount("h"))
    same(both, lambda c: (c.setbit("a1", 3, 1), c.setbit("b", 5, 1)))
    same(both, lambda c: c.bitop("OR", "g", "a1", "b"))
    same(both, lambda c: c.get("g"))


def test_sort_with_patterns_and_store(both):
    def fill(c):
        c.rpush("a", "3", "1", "2")
        c.mset({"w_1": "30", "w_2": "10", "w_3": "20", "o_1": "one", "o_2": "two", "o_3": "three"})

    same(both, fill)
    same(both, lambda c: c.sort("a"))
    same(both, lambda c: c.sort("a", by="w_*"))
    same(both, lambda c: c.sort("a", by="w_*", get=["#", "o_*"], desc=True))
    same(both, lambda c: c.sort("a", start=1, num=1, get="o_*"))
    same(both, lambda c: c.sort("a", by="w_*", store="b"))
    same(both, lambda c: c.lrange("b", 0, -1))
    same(both, lambda c: c.sort_ro("a", by="nosort"))


def test_geo_store(both):
    same(both, lambda c: c.geoadd("a", [13.36, 38.11, "Palermo", 15.08, 37.50, "Catania"]))
    same(both, lambda c: c.geosearchstore("b", "a", longitude=15, latitude=37, radius=200))
    same(both, lambda c: c.zrange("b", 0, -1))
    same(both, lambda c: c.georadius("a", 15, 37, 200, unit="km", store_dist="c"))
    same(both, lambda c: c.zrange("c", 0, -1))


def test_commands_whose_keys_must_share_a_node_are_refused_naming_the_nodes(r):
    before = r.dbsize()
    with pytest.raises(CrossNodeError) as raised:
        r.eval("return 1", 2, "a", "b")
    message = str(raised.value)
    assert "node_" in message and "hash tag" in message
    assert r.dbsize() == before
    # With a common tag they run on one node, as Redis runs them.
    assert r.eval("return #KEYS", 2, "a{t}", "b{t}") == 2
    # LCS is composed across nodes (the second key copied beside the first, for that call).
    r.mset({"a": "ohmytext", "b": "mynewtext"})
    assert r.lcs("a", "b") == b"mytext"
    assert r.dbsize() == before + 2
