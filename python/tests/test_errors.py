"""Bad input gets a clear error and changes nothing; failures are redis-py's exceptions and name
the node; passwords never show."""

import time

import pytest
import redis

import rediscluster
from conftest import DEAD_PORT
from rediscluster import ClusterConfigError


def nodes(*ports):
    return {
        "nodes": {f"node_{i + 1}": {"host": "127.0.0.1", "port": p} for i, p in enumerate(ports)}
    }


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        ({}, "no 'nodes'"),
        ({"nodes": {}}, "'nodes' is empty"),
        ({"nodes": {"node_2": {"host": "127.0.0.1", "port": 7000}}}, "node_1..node_1"),
        ({"nodes": {"node_1": {"host": "127.0.0.1", "port": "7000"}}}, "'port' must be an integer"),
        ({"nodes": {"node_1": {"host": "127.0.0.1", "port": 7000.5}}}, "'port' must be an integer"),
        ({"nodes": {"node_1": {"host": "127.0.0.1", "port": 99999}}}, "'port' must be an integer"),
        ({"nodes": {"node_1": {"host": "127.0.0.1", "port": 7000, "colour": 1}}}, "unknown option"),
        ({"nodes": {"node_1": {"port": 7000}}}, "'host'"),
        (
            {
                "nodes": {
                    "node_1": {"host": "h", "port": 7000},
                    "node_2": {"host": "h", "port": 7000},
                }
            },
            "same address",
        ),
        ({**nodes(7000), "master_of": {"node_1": "node_9"}}, "node_9"),
        ({**nodes(7000), "mastersonly": "yes"}, "'mastersonly'"),
    ],
)
def test_bad_configs_are_refused_whole_before_connecting(cluster, message):
    with pytest.raises(ClusterConfigError, match=message):
        rediscluster.StrictRedisCluster(cluster=cluster)
    assert issubclass(ClusterConfigError, ValueError)


def test_bad_arguments():
    with pytest.raises(ClusterConfigError, match="must be a dict"):
        rediscluster.StrictRedisCluster(cluster=[("node_1", "127.0.0.1:7000")])
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        rediscluster.StrictRedisCluster(cluster=nodes(7000), colour=1)
    with pytest.raises(ClusterConfigError, match="ssl_ca_path=.* is not supported"):
        rediscluster.StrictRedisCluster(cluster=nodes(7000), ssl=True, ssl_ca_path="/etc/ssl")
    with pytest.raises(ClusterConfigError, match="ssl_certfile.*/nonexistent.pem"):
        rediscluster.StrictRedisCluster(
            cluster=nodes(7000), ssl=True, ssl_certfile="/nonexistent.pem"
        )
    with pytest.raises(ClusterConfigError, match="protocol=3"):
        rediscluster.StrictRedisCluster(cluster=nodes(7000), protocol=3)
    # A secret option that is refused is named, never shown.
    with pytest.raises(ClusterConfigError, match="ssl_password=<hidden>") as refused:
        rediscluster.StrictRedisCluster(cluster=nodes(7000), ssl=True, ssl_password="k3y-pa55")
    assert "k3y-pa55" not in str(refused.value)
    with pytest.raises(ClusterConfigError, match="unknown encoding"):
        rediscluster.StrictRedisCluster(cluster=nodes(7000), encoding="no-such-codec")
    # redis-py's pool tuning is accepted: the engine has its own.
    rediscluster.StrictRedisCluster(cluster=nodes(7000), max_connections=5, retry_on_timeout=True)


def test_a_dead_node_fails_fast_naming_itself_and_the_others_keep_working(dev_cluster):
    live = dev_cluster["masters"][0]
    r = rediscluster.StrictRedisCluster(
        cluster=nodes(live, DEAD_PORT), mastersonly=True, socket_connect_timeout=0.5
    )
    dead_key = next(k for k in (f"k{i}" for i in range(100)) if "node_2" in r.getnodefor(k))
    live_key = next(k for k in (f"k{i}" for i in range(100)) if "node_1" in r.getnodefor(k))
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError) as raised:
        r.get(dead_key)
    assert time.monotonic() - started < 2.0
    assert f"node_2 (127.0.0.1:{DEAD_PORT})" in str(raised.value)
    assert r.set(live_key, "ok") is True
    # A write split over both nodes applies on the live one and says so.
    with pytest.raises(rediscluster.PartialConnectionError) as partial:
        r.mset({live_key: "new", dead_key: "lost"})
    assert isinstance(partial.value, redis.ConnectionError)
    assert partial.value.applied == ["node_1"]
    assert "node_2" in str(partial.value)
    assert r.get(live_key) == b"new"


def test_a_slow_node_times_out_within_socket_timeout(dev_cluster):
    r = rediscluster.StrictRedisCluster(
        cluster=nodes(*dev_cluster["masters"]), mastersonly=True, socket_timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError, match=r"node_\d \(127\.0\.0\.1:\d+\)"):
        r.blpop(["queue"], 0)  # blocks for ever on one server
    assert time.monotonic() - started < 1.0


def test_server_errors_are_redis_py_classes(r):
    r.lpush("list", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("list")
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("0" * 40, 0)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("GET")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        r.execute_command("NOSUCHCOMMAND", "x")
    with pytest.raises(rediscluster.CommandNotSupportedError, match="MULTI|multi"):
        r.execute_command("MULTI")
    with pytest.raises(redis.exceptions.AuthenticationError):
        r.auth("not-set-on-the-server")


def test_passwords_never_show(dev_cluster):
    cluster = nodes(DEAD_PORT)
    cluster["nodes"]["node_1"]["password"] = "hunter2-node"
    r = rediscluster.StrictRedisCluster(
        cluster=cluster, password="hunter2-all", socket_connect_timeout=0.2
    )
    with pytest.raises(redis.ConnectionError) as raised:
        r.get("k")
    shown = " ".join(
        [
            str(raised.value),
            repr(raised.value),
            repr(r),
            repr(r.connection_pool),
            str(r.connection_pool.connection_kwargs),
            str(r.getnodefor("k")),
        ]
    )
    assert "hunter2" not in shown
    with pytest.raises(ClusterConfigError) as bad:
        rediscluster.StrictRedisCluster(
            cluster={"nodes": {"node_1": {"host": "h", "port": "x", "password": "hunter2"}}}
        )
    assert "hunter2" not in str(bad.value)
