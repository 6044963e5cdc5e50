"""Growing an elastic deployment online, from Python: 8 masters to 9 with ``tools.grow``, planned
with ``tools.plan``, moved with ``tools.reshard`` while a client in the online window
(``previous`` = the 8 old masters) reads every key and writes new ones. Only the new master's
share of the keys moves, no read misses, nothing is lost or left behind."""

import threading

import pytest

import rediscluster
import rediscluster.tools as tools
from conftest import SPARE_PORTS, Server

KEYS = 12_000


@pytest.fixture
def nine_servers():
    servers = [Server(port) for port in SPARE_PORTS[:9]]
    yield servers
    for server in servers:
        server.stop()


def elastic(servers):
    nodes = {f"node_{i}": {"host": "127.0.0.1", "port": s.port} for i, s in enumerate(servers, 1)}
    return {"nodes": nodes, "distribution": "elastic"}


def test_growing_eight_elastic_masters_to_nine_online(nine_servers):
    eight = elastic(nine_servers[:8])
    nine = tools.grow(eight, [f"127.0.0.1:{nine_servers[8].port}"])
    assert nine["nodes"]["node_9"]["slots"], "the new master takes slots"
    assert tools.plan(eight, nine, random=200_000)["fraction_moving"] <= 1 / 9 + 0.01

    before = rediscluster.StrictRedisCluster(cluster=eight, mastersonly=True)
    pipe = before.pipeline(transaction=False)
    for i in range(KEYS):
        pipe.set(f"item:{i}", f"value {i}")
    assert all(pipe.execute())
    planned = tools.plan(eight, nine)
    assert planned["keys"] == KEYS
    assert abs(planned["moving"] / KEYS - 1 / 9) <= 0.01, planned

    during = rediscluster.StrictRedisCluster(
        cluster={**nine, "previous": eight}, mastersonly=True, decode_responses=True
    )
    done = threading.Event()
    problems = []
    written = []
    passes = [0]

    def read():
        keys = [f"item:{i}" for i in range(KEYS)]
        while True:
            finished = done.is_set()
            for start in range(0, KEYS, 500):
                chunk = keys[start : start + 500]
                values = during.mget(chunk)
                for key, value in zip(chunk, values, strict=True):
                    if value != f"value {key[5:]}":
                        problems.append(("mget", key, value))
            for i in range(0, KEYS, 37):
                if during.get(f"item:{i}") != f"value {i}":
                    problems.append(("get", i))
            passes[0] += 1
            if finished:
                return

    def write():
        i = 0
        while not done.is_set():
            key = f"new:{i}"
            during.set(key, i)
            if during.get(key) != str(i):
                problems.append(("read your write", key))
            written.append(key)
            i += 1

    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    try:
        summary = tools.reshard(eight, nine, batch=100)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert not problems, problems[:5]
    assert passes[0] >= 2, "read through the whole move"
    assert summary["unplaceable"] == 0
    assert summary["moved"] == planned["moving"], (summary, planned)

    after = rediscluster.StrictRedisCluster(cluster=nine, mastersonly=True, decode_responses=True)
    assert after.mget([f"item:{i}" for i in range(KEYS)]) == [f"value {i}" for i in range(KEYS)]
    assert after.mget(written) == [key[4:] for key in written]
    assert sum(s.client().dbsize() for s in nine_servers) == KEYS + len(written)
    for client in (before, during, after):
        client.close()
