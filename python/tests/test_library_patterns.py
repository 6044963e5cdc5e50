"""What libraries written for one redis.Redis read and run: info() fields, registered scripts
(where they are loaded, and the error for keys on several masters), and rq's and
python-redis-lock's own calls where those libraries are installed (make library-suites)."""

from __future__ import annotations

import pytest
import redis

from rediscluster import CrossNodeError

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


def _keys_on(r, count):
    """``count`` keys on ``count`` different masters, with their node names."""
    found = {}
    for i in range(1000):
        key = f"key:{i}"
        node = next(iter(r.getnodefor(key)))
        found.setdefault(node, key)
        if len(found) == count:
            return [(key, node) for node, key in found.items()]
    raise AssertionError("no keys on enough masters")


def test_info_is_per_node_and_answers_server_fields(r, master_clients):
    info = r.info()
    assert set(info) == {"node_1", "node_2", "node_3"}
    assert all(isinstance(node, dict) for node in info.values())
    # A field answers as the first master reports it, in the same reply.
    assert info["used_memory"] == info["node_1"]["used_memory"]
    assert info["redis_version"] == master_clients["node_1"].info()["redis_version"]
    assert "used_memory" in info and "node_2" in info and "nope" not in info
    assert info.get("nope") is None and info.get("nope", 7) == 7
    assert info.get("node_3") is info["node_3"]
    with pytest.raises(KeyError):
        info["nope"]  # noqa: B018
    server = r.info("server")
    assert server["redis_version"] == master_clients["node_1"].info("server")["redis_version"]
    assert server["tcp_port"] == master_clients["node_1"].info("server")["tcp_port"]
    assert server["node_2"]["tcp_port"] == master_clients["node_2"].info("server")["tcp_port"]


def test_info_decoded(config):
    import rediscluster

    client = rediscluster.StrictRedisCluster(cluster=config, decode_responses=True)
    assert isinstance(client.info("server")["redis_version"], str)


def test_script_is_loaded_on_the_master_that_runs_it(r, master_clients):
    (key, node), *_ = _keys_on(r, 1)
    script = r.register_script(INCR_BY)
    assert script(keys=[key], args=[5]) == 5
    assert script(keys=[key], args=[2]) == 7
    loaded = {name: client.script_exists(script.sha)[0] for name, client in master_clients.items()}
    assert loaded == {name: name == node for name in master_clients}
    assert master_clients[node].get(key) == b"7"


def test_script_reloads_after_a_flush(r, master_clients):
    (key, node), *_ = _keys_on(r, 1)
    script = r.register_script(INCR_BY)
    assert script(keys=[key], args=[1]) == 1
    master_clients[node].script_flush()
    assert script(keys=[key], args=[1]) == 2


def test_script_without_keys_runs_on_the_first_master(r, master_clients):
    script = r.register_script("return 'hi'")
    assert script() == b"hi"
    assert master_clients["node_1"].script_exists(script.sha) == [True]
    assert master_clients["node_2"].script_exists(script.sha) == [False]


RESET_ALL = """
local found = redis.call('KEYS', 'lock:*')
for _, key in ipairs(found) do redis.call('DEL', key) end
return #found
"""


def test_keyless_script_on_every_master_when_configured(config, master_clients):
    import rediscluster

    every = rediscluster.StrictRedisCluster(
        cluster={**config, "keyless_scripts": "every_master"}, mastersonly=True
    )
    locks = [f"lock:{i}" for i in range(12)]
    for lock in locks:
        every.set(lock, 1)
    assert len({next(iter(every.getnodefor(lock))) for lock in locks}) == 3
    # A registered script runs on each master (EVAL with its body); the counts add up.
    reset_all = every.register_script(RESET_ALL)
    assert reset_all() == len(locks)
    assert all(c.dbsize() == 0 for c in master_clients.values())
    # One master that lost its scripts (a restart, SCRIPT FLUSH) runs it as the others do.
    master_clients["node_2"].script_flush()
    for lock in locks:
        every.set(lock, 1)
    assert reset_all() == len(locks)
    assert all(c.dbsize() == 0 for c in master_clients.values())
    # In a pipeline too.
    every.set("lock:p", 1)
    pipe = every.pipeline(transaction=False)
    reset_all(client=pipe)
    assert pipe.execute() == [1]
    assert every.eval("return {1}", 0) == [1, 1, 1]
    # The default client keeps it on node_1.
    r_default = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    for lock in locks:
        r_default.set(lock, 1)
    on_node_1 = sum(next(iter(r_default.getnodefor(lock))) == "node_1" for lock in locks)
    assert r_default.eval(RESET_ALL, 0) == on_node_1


def test_script_over_masters_names_keys_nodes_and_ways_out(r, master_clients):
    (first, first_node), (second, second_node) = _keys_on(r, 2)
    script = r.register_script("return redis.call('SET', KEYS[1], KEYS[2])")
    with pytest.raises(CrossNodeError) as raised:
        script(keys=[first, second])
    message = str(raised.value)
    assert f"'{first}' on {first_node}" in message
    assert f"'{second}' on {second_node}" in message
    assert "hash tag" in message and "routing rule" in message
    # Refused before anything was sent or loaded.
    assert all(c.script_exists(script.sha) == [False] for c in master_clients.values())
    assert all(c.dbsize() == 0 for c in master_clients.values())


def test_script_in_a_pipeline(r, master_clients):
    (key, node), *_ = _keys_on(r, 1)
    script = r.register_script(INCR_BY)
    pipe = r.pipeline(transaction=False)
    pipe.set(key, 10)
    script(keys=[key], args=[3], client=pipe)
    assert pipe.execute() == [True, 13]
    (first, _), (second, _) = _keys_on(r, 2)
    with pytest.raises(CrossNodeError, match="routing rule"):
        script(keys=[first, second], client=r.pipeline(transaction=False))


def test_redis_py_lock_runs_its_scripts(r):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert lock.extend(5)
    lock.release()
    assert r.get("resource") is None


def test_rq_reads_the_server_version(r, master_clients):
    rq_utils = pytest.importorskip("rq.utils")
    version = master_clients["node_1"].info("server")["redis_version"]
    expected = tuple(int(part) for part in version.split(".")[:3])
    assert rq_utils.get_version(r) == expected


def test_python_redis_lock_accepts_the_client(r):
    redis_lock = pytest.importorskip("redis_lock")
    with redis_lock.Lock(r, "name{tag}", expire=5, auto_renewal=True) as lock:
        assert lock.locked()
    assert not redis_lock.Lock(r, "name{tag}").locked()
    assert isinstance(r, redis.StrictRedis)


def test_eval_over_masters_says_the_ways_out(r):
    (first, first_node), (second, second_node) = _keys_on(r, 2)
    with pytest.raises(CrossNodeError) as raised:
        r.eval("return 1", 2, first, second)
    message = str(raised.value)
    assert first_node in message and second_node in message
    assert "hash tag" in message and "routing rule" in message
