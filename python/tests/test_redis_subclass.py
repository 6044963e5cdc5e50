"""StrictRedisCluster is a redis.Redis (libraries check it) without redis-py's connection pool:
every public attribute of redis.Redis works through the engine or raises a clear error."""

from __future__ import annotations

import gc
import inspect
import re

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import rediscluster
from rediscluster import ClusterConfigError, CommandNotSupportedError, StrictRedisCluster
from rediscluster.fast_commands import FastCommands
from rediscluster.pool_view import PoolView

# What a command method may not touch: it must build a command and call execute_command.
_POOL_USE = re.compile(r"connection_pool|get_connection\(|self\.connection\b")


def _owner(name):
    return next(c for c in StrictRedisCluster.__mro__ if name in c.__dict__)


def test_is_a_redis_and_a_strict_redis(r):
    assert isinstance(r, redis.Redis)
    assert isinstance(r, redis.StrictRedis)
    assert issubclass(StrictRedisCluster, redis.client.Redis)
    assert rediscluster.RedisCluster is StrictRedisCluster


def test_redis_comes_last_so_ours_win_the_mro():
    mro = StrictRedisCluster.__mro__
    assert mro[:3] == (StrictRedisCluster, FastCommands, redis.client.Redis)
    for name in ("execute_command", "pipeline", "pubsub", "__del__", "close", "info", "lock"):
        assert _owner(name) is StrictRedisCluster, name
    assert _owner("set") is FastCommands


def test_no_redis_py_pool_is_built(r):
    assert type(r.connection_pool) is PoolView
    # redis.Redis.__init__ never ran: none of the state it sets up exists.
    for attribute in ("connection", "auto_close_connection_pool", "_event_dispatcher"):
        assert attribute not in vars(r)


def _inherited_checks(r):
    """Every public attribute redis.Redis defines itself and this class inherits as is: a
    check that it works through the client, or raises a clear error."""

    def from_pool():
        other = StrictRedisCluster.from_pool(r.connection_pool)
        other.set("from_pool", "1")
        assert r.get("from_pool") == b"1"
        with pytest.raises(ClusterConfigError, match="StrictRedisCluster's connection_pool"):
            StrictRedisCluster.from_pool(redis.ConnectionPool())

    def client():
        assert r.client().set("client", "1") is True
        assert r.get("client") == b"1"

    def get_cache():
        assert r.get_cache() is None

    def get_retry():
        assert r.get_retry() is None

    def set_retry():
        retry = Retry(NoBackoff(), 1)
        r.set_retry(retry)
        assert r.get_retry() is retry
        assert r.ping() is True

    def load_external_module():
        r.load_external_module("shout", lambda: "loaded")
        assert r.shout() == "loaded"

    def keyspace_notifications():
        # Built on the client's own pubsub() (channels on their master, patterns on all).
        notifications = r.keyspace_notifications()
        assert notifications._pubsub.__class__ is rediscluster.ClusterPubSub
        notifications.close()

    return {
        "from_pool": from_pool,
        "client": client,
        "get_cache": get_cache,
        "get_retry": get_retry,
        "set_retry": set_retry,
        "load_external_module": load_external_module,
        "keyspace_notifications": keyspace_notifications,
    }


_REFUSED = {
    "monitor": lambda r: r.monitor(),
    "parse_response": lambda r: r.parse_response(None, "GET"),
    "himport_registry": lambda r: r.himport_registry,
    "himport_prepare": lambda r: r.himport_prepare("fs", ["a"]),
    "himport_discard": lambda r: r.himport_discard("fs"),
    "himport_discard_all": lambda r: r.himport_discard_all(),
}


def test_every_public_attribute_of_redis_works_or_refuses_clearly(r):
    inherited = _inherited_checks(r)
    kinds = {"ours": [], "command": [], "inherited": [], "refused": []}
    for name in dir(redis.Redis):
        if name.startswith("_"):
            continue
        owner = _owner(name)
        if name in _REFUSED:
            assert owner is StrictRedisCluster, name
            with pytest.raises(CommandNotSupportedError) as raised:
                _REFUSED[name](r)
            assert len(str(raised.value)) > 40, name
            kinds["refused"].append(name)
        elif owner in (StrictRedisCluster, FastCommands):
            kinds["ours"].append(name)
        elif owner.__module__.startswith("redis.commands"):
            # A command method: builds the command and calls execute_command, ours.
            source = inspect.getsource(getattr(owner, name))
            assert not _POOL_USE.search(source), name
            kinds["command"].append(name)
        else:
            assert owner is redis.client.Redis, (name, owner)
            assert name in inherited, f"redis.Redis.{name} is neither overridden nor checked"
            inherited[name]()
            kinds["inherited"].append(name)
    # Every check ran, and the classification is not empty anywhere.
    assert sorted(kinds["inherited"]) == sorted(inherited)
    assert sorted(kinds["refused"]) == sorted(_REFUSED)
    assert len(kinds["command"]) > 300
    assert {"execute_command", "pipeline", "from_url", "info"} <= set(kinds["ours"])


def test_command_methods_reach_the_engine(r, master_clients):
    # A sample of the mixins' methods, answered by the servers through the engine.
    assert r.set("k", "v") is True
    assert r.hset("h", "f", "v") == 1
    assert r.sentinel_masters is not None
    with pytest.raises(redis.ResponseError):
        r.sentinel_masters()
    placed = next(iter(r.getnodefor("k")))
    assert master_clients[placed].get("k") == b"v"


def test_module_pipelines_refuse_clearly(r):
    # redis-py's module objects build their pipelines on the client's pool: refused, clearly.
    with pytest.raises(CommandNotSupportedError, match="no redis-py connections"):
        pipe = r.json().pipeline()
        pipe.set("doc", "$", {"a": 1})
        pipe.execute()


def test_pool_view_answers_what_libraries_read(r):
    pool = r.connection_pool
    assert pool.connection_class is redis.connection.Connection
    assert pool.connection_kwargs["db"] == 0
    assert pool.get_encoder() is r.get_encoder()
    assert pool.cache is None
    r.set("a", "1")
    pool.disconnect()
    pool.reset()
    assert r.get("a") == b"1"
    with pytest.raises(AttributeError, match="view of the client"):
        pool.max_connections  # noqa: B018
    with pytest.raises(CommandNotSupportedError, match="no redis-py connections"):
        pool.get_connection()


def test_pool_view_never_shows_the_password(config):
    config = dict(config, password="hunter2-secret")
    # Reads on masters: nothing connects before the first call.
    client = StrictRedisCluster(cluster=config, mastersonly=True)
    view = client.connection_pool
    shown = f"{client!r} {view!r} {view.connection_kwargs!r} {vars(view)!r}"
    assert "hunter2" not in shown
    # The servers have no password: AUTH fails, and its error must not show it either.
    with pytest.raises(redis.RedisError) as error:
        client.ping()
    assert "hunter2" not in str(error.value)
    # A client rebuilt from the view still carries the password (the engine was built with it).
    rebuilt = type(client)(connection_pool=view)
    assert rebuilt._core is client._core


def test_client_is_a_client_on_the_same_engine(r):
    # redis-py's Redis.client(): a client on the same pool, for one connection's work.
    other = r.client()
    assert other._core is r._core
    other.set("from-client", "1")
    assert r.get("from-client") == b"1"


def test_rebuilt_from_its_pool_shares_the_engine(r):
    other = type(r)(connection_pool=r.connection_pool)
    assert other.connection_pool is r.connection_pool
    assert other._core is r._core
    other.set("shared", "1")
    assert r.get("shared") == b"1"
    decoded = type(r)(connection_pool=r.connection_pool, decode_responses=True)
    assert decoded.get("shared") == "1"
    with pytest.raises(ClusterConfigError, match="cannot be given with connection_pool"):
        type(r)(connection_pool=r.connection_pool, db=3)


def test_rebuilt_from_a_pool_whose_client_is_gone_gets_its_own_engine(config):
    first = StrictRedisCluster(cluster=config, mastersonly=True)
    first.set("k", "1")
    view = first.connection_pool
    del first
    gc.collect()
    assert view.engine() is None
    second = StrictRedisCluster(connection_pool=view)
    assert second.get("k") == b"1"
    assert view.engine() is second._core


def test_from_url_names_every_master(dev_cluster, master_clients):
    hosts = ",".join(f"127.0.0.1:{port}" for port in dev_cluster["masters"])
    client = StrictRedisCluster.from_url(
        f"redis://{hosts}/0?decode_responses=True", mastersonly=True
    )
    assert list(client.nodes) == ["node_1", "node_2", "node_3"]
    assert [a["port"] for a in client.nodes.values()] == dev_cluster["masters"]
    client.set("url", "v")
    assert client.get("url") == "v"
    assert master_clients[next(iter(client.getnodefor("url")))].get("url") == b"v"
    assert type(client)(connection_pool=client.connection_pool).get("url") == "v"


def test_rebuilt_from_connection_kwargs_alone_says_how(r):
    with pytest.raises(ClusterConfigError, match="connection_pool=client.connection_pool"):
        type(r)(**r.connection_pool.connection_kwargs)


def test_from_url_refuses_clearly():
    with pytest.raises(ClusterConfigError, match="redis:// or rediss://"):
        StrictRedisCluster.from_url("unix:///tmp/redis.sock")
    with pytest.raises(ValueError, match="Invalid value"):
        StrictRedisCluster.from_url("redis://127.0.0.1:1/0?socket_timeout=abc")


def test_del_and_close_work_without_a_pool(config):
    client = StrictRedisCluster(cluster=config)
    client.close()
    client.__del__()
    # A client whose construction failed half-way must not fail when collected either.
    with pytest.raises(ClusterConfigError):
        StrictRedisCluster(cluster={"nodes": {}})
    half_built = StrictRedisCluster.__new__(StrictRedisCluster)
    half_built.__del__()
    half_built.close()
