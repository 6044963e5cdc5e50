"""redis-py's client API on the cluster: dict-like access, callbacks, encoders, decoding,
pipelines, transactions, pub/sub, per-client connection settings, threads."""

import inspect
import threading
import time

import pytest
import redis

import rediscluster
from rediscluster import CrossNodeError


def test_dict_like_access(r):
    r["k"] = "v"
    assert r["k"] == b"v"
    assert "k" in r
    r["empty"] = ""
    assert r["empty"] == b"", "an existing empty value is not a KeyError"
    assert "empty" in r
    del r["k"]
    assert "k" not in r
    with pytest.raises(KeyError):
        r["k"]
    r.lpush("list", "x")
    with pytest.raises(redis.ResponseError):
        r["list"]


def test_redis_py_client_api(r):
    assert isinstance(r, redis.commands.CoreCommands)
    assert rediscluster.RedisCluster is rediscluster.StrictRedisCluster
    assert r.response_callbacks["ping"] is r.response_callbacks["PING"]
    r.set_response_callback("GET", lambda response, **options: ("wrapped", response))
    r.set("k", "v")
    assert r.get("k") == ("wrapped", b"v")
    assert r.get_encoder().encode(1.5) == b"1.5"
    assert r.get_connection_kwargs()["decode_responses"] is False
    assert r.connection_pool.connection_kwargs["db"] == 0
    assert "password" not in r.connection_pool.connection_kwargs
    assert "127.0.0.1" in repr(r) and "node_1" in repr(r)


def test_arguments_are_encoded_as_redis_py_encodes_them(r):
    r.set("int", 10)
    r.set("float", 1.5)
    r.set("bytes", b"\x00\xff")
    r.set("view", memoryview(b"mv"))
    r.set(b"\xfe", "binary key")
    r.set("unicode", "héllo ✓")
    assert r.mget(["int", "float", "bytes", "view", b"\xfe", "unicode"]) == [
        b"10",
        b"1.5",
        b"\x00\xff",
        b"mv",
        b"binary key",
        "héllo ✓".encode(),
    ]
    assert r.incrbyfloat("float", 1e20) == pytest.approx(1e20)
    for bad in (True, None, [1], {"a": 1}, object()):
        with pytest.raises(redis.DataError, match="Invalid input of type"):
            r.set("k", bad)
    assert r.get("k") is None, "a refused argument sends nothing"


def test_decode_responses(config):
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True, decode_responses=True)
    r.set("k", "héllo")
    assert r.get("k") == "héllo"
    r.hset("h", mapping={"f": "v"})
    assert r.hgetall("h") == {"f": "v"}
    assert r.zadd("z", {"m": 1}) == 1
    assert r.zrange("z", 0, -1, withscores=True) == [("m", 1.0)]
    assert r.set("bin", b"\xff") is True
    with pytest.raises(UnicodeDecodeError):
        r.get("bin")
    assert r.dump("bin")[:1] == b"\x00", "NEVER_DECODE commands stay bytes"
    assert r.info()["node_1"]["redis_version"]


def test_other_encodings_go_through_redis_py_encoder(config):
    r = rediscluster.StrictRedisCluster(
        cluster=config, mastersonly=True, encoding="latin-1", decode_responses=True
    )
    r.set("clé", "café")
    raw = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    assert raw.get("clé".encode("latin-1")) == "café".encode("latin-1")
    assert r.get("clé") == "café"
    assert r.getnodefor("clé") == raw.getnodefor("clé".encode("latin-1"))
    assert r.client_list()[0]["addr"]  # "CLIENT LIST" still splits into two words


def test_scan_iter_walks_every_master_once(r):
    keys = {f"key:{i}" for i in range(200)}
    r.mset(dict.fromkeys(keys, 1))
    seen = [k.decode() for k in r.scan_iter(match="key:*", count=20)]
    assert sorted(seen) == sorted(keys)
    assert r.dbsize() == 200


def test_pipeline_without_transaction_batches_per_master(r):
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"k{i}", i).incr(f"k{i}")
    pipe.mget([f"k{i}" for i in range(100)])
    pipe.get("missing")
    replies = pipe.execute()
    assert replies[:4] == [True, i_plus(0), True, i_plus(1)]
    assert replies[200] == [str(i + 1).encode() for i in range(100)]
    assert replies[201] is None
    assert len(pipe) == 0


def test_pipeline_command_stack_is_redis_pys_view_with_options_kept(config):
    """The queue keeps each command's arguments and, apart, the options of the few that have
    some (not redis-py's client-side cache `keys`: this client has no such cache);
    ``command_stack`` shows redis-py's (args, options) pairs, and assigning it works."""
    decoding = rediscluster.StrictRedisCluster(
        cluster=config, mastersonly=True, decode_responses=True
    )
    decoding.set("n", "1")
    decoding.rpush("list", "x")
    never_decode = {redis.client.NEVER_DECODE: True}
    empty = {redis.client.EMPTY_RESPONSE: "empty"}
    pipe = decoding.pipeline(transaction=False)
    pipe.set("a", 1)
    pipe.execute_command("GET", "n", **never_decode)
    pipe.get("missing")
    pipe.execute_command("INCR", "list", **empty)  # WRONGTYPE: answered by EMPTY_RESPONSE
    pipe.get("n")
    assert pipe.command_stack == (
        (("SET", "a", 1), {}),
        (("GET", "n"), never_decode),
        (("GET", "missing"), {}),
        (("INCR", "list"), empty),
        (("GET", "n"), {}),
    )
    assert len(pipe) == 5
    assert pipe.execute() == [True, b"1", None, "empty", "1"]
    pipe.command_stack = [(("SET", "b", 2), {}), (("GET", "b"), never_decode)]
    assert pipe.execute() == [True, b"2"]
    assert pipe.command_stack == () and len(pipe) == 0


def i_plus(i):
    return i + 1


def test_set_without_options_is_a_shortcut_with_redis_py_behaviour(r):
    # The shortcut (no option given) and redis-py's own method (any option) answer alike,
    # and the method still shows redis-py's signature and docstring.
    plain = redis.Redis()
    assert inspect.signature(r.set) == inspect.signature(plain.set)
    assert r.set.__doc__ == plain.set.__doc__
    assert r.set("s", "v") is True
    assert r.set("s", "w", nx=True) is None
    assert r.set("s", "w", None) is True, "ex=None given positionally"
    assert r.set("s", "x", get=True) == b"w"
    with pytest.raises(redis.DataError):
        r.set("s", "v", ex=1, px=1)
    assert r.get("s") == b"x"
    pipe = r.pipeline(transaction=False)
    pipe.set("s", "y").set("s", "z", xx=True, get=True).set("s", 1, nx=True).get("s")
    assert pipe.execute() == [True, b"y", None, b"z"]


def test_pipeline_errors_raise_or_stay_in_place(r):
    r.lpush("list", "x")
    pipe = r.pipeline(transaction=False)
    pipe.set("a", 1).incr("list").get("a")
    with pytest.raises(redis.ResponseError, match=r"Command # 2 \(INCRBY list 1\)"):
        pipe.execute()
    pipe.set("a", 1).incr("list").get("a")
    replies = pipe.execute(raise_on_error=False)
    assert replies[0] is True and replies[2] == b"1"
    assert isinstance(replies[1], redis.ResponseError)


def test_transactions_run_on_the_node_of_their_tag(r):
    with r.pipeline() as pipe:
        pipe.set("a{user1}", 1).incr("a{user1}").sadd("s{user1}", "x")
        assert pipe.execute() == [True, 2, 1]
    pipe = r.pipeline(transaction=True)
    pipe.set("a", 1).set("b", 2).set("c", 3)
    with pytest.raises(CrossNodeError):
        pipe.execute()
    assert r.exists("a", "b", "c") == 0, "a refused transaction sends nothing"
    assert r.transaction(lambda p: p.incr("n{x}").incr("n{x}")) == [1, 2]


def test_pubsub_channels_patterns_and_handlers(r):
    pubsub = r.pubsub()
    pubsub.subscribe("news", "sport")
    pubsub.psubscribe("weather.*")
    # From three masters at once: in any order.
    confirmations = [pubsub.get_message(timeout=2) for _ in range(3)]
    assert sorted(m["type"] for m in confirmations) == ["psubscribe", "subscribe", "subscribe"]
    assert {m["channel"] for m in confirmations} == {b"news", b"sport", b"weather.*"}
    assert r.publish("news", "hello") == 1
    assert r.publish("weather.paris", "rain") == 1
    received = [pubsub.get_message(timeout=2) for _ in range(2)]
    assert {(m["type"], m["channel"], m["data"]) for m in received} == {
        ("message", b"news", b"hello"),
        ("pmessage", b"weather.paris", b"rain"),
    }
    got = []
    pubsub.subscribe(alerts=got.append)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    r.publish("alerts", "fire")
    assert pubsub.get_message(timeout=2) is None, "a handler takes the message"
    assert got[0]["data"] == b"fire"
    pubsub.unsubscribe()
    pubsub.punsubscribe()
    types = [pubsub.get_message(timeout=2)["type"] for _ in range(4)]
    assert sorted(types) == ["punsubscribe"] + ["unsubscribe"] * 3
    assert not pubsub.subscribed
    pubsub.close()


def test_pubsub_worker_thread(r):
    got = []
    pubsub = r.pubsub()
    pubsub.subscribe(**{"jobs": got.append})
    worker = pubsub.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        deadline = time.monotonic() + 5
        while r.publish("jobs", "one") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
        worker.join(5)
    assert got and got[0]["data"] == b"one"


def test_connection_settings_apply_to_the_whole_client(r, master_clients):
    assert r.client_setname("app-1") is True
    assert r.client_getname() == "app-1"  # redis-py's callback decodes it
    r.set("k", "v")
    names = [c["name"] for client in master_clients.values() for c in client.client_list()]
    assert "app-1" in names
    assert r.select(3) is True
    r.set("k", "in db 3")
    assert r.get("k") == b"in db 3"
    assert r.dbsize() == 1
    assert r.reset() == "RESET"
    assert r.get("k") == b"v"
    assert r.client_getname() is None


def test_eight_threads_share_one_client(r):
    failures = []

    def work(thread):
        try:
            for i in range(500):
                key = f"t{thread}:{i % 50}"
                r.set(key, f"{thread}-{i}")
                assert r.get(key) == f"{thread}-{i}".encode()
                if i % 50 == 0:
                    keys = [f"t{thread}:{j}" for j in range(10)]
                    values = r.mget(keys)
                    assert all(v is None or v.startswith(f"{thread}-".encode()) for v in values)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert r.dbsize() == 8 * 50


def test_close_and_context_manager(config):
    with rediscluster.StrictRedisCluster(cluster=config, mastersonly=True) as r:
        r.set("k", "v")
    assert r.get("k") == b"v", "usable again after close(), as redis-py"


def test_pubsub_subscribe_unsubscribe_subscribe_stays_subscribed(r):
    """redis-py's issue #764: the first UNSUBSCRIBE's confirmation must not forget the channel
    subscribed again after it; names may also come as redis-py's ``Subscription`` objects."""
    from redis.typing import Subscription

    p = r.pubsub()
    p.subscribe("again")
    p.unsubscribe("again")
    p.subscribe(Subscription("again", None))
    kinds = [p.get_message(timeout=2)["type"] for _ in range(3)]
    assert kinds == ["subscribe", "unsubscribe", "subscribe"]
    assert p.subscribed and list(p.channels) == [b"again"]
    r.publish("again", "hi")
    assert p.get_message(timeout=2)["data"] == b"hi"
    p.close()
