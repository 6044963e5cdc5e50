"""The one hook that points a library's own test suite at our servers (make library-suites).

Imported by ``sitecustomize`` from the same directory, so in the test process and in every
process a suite starts itself (rq's workers and CLI, python-redis-lock's helper); the pytest
plugin (``-p suites_plugin``) adds the per-test flush. What
it does depends on ``LIBRARY_SUITES_MODE``:

* ``plain``: clients stay ``redis.Redis``; a connection to the default ``localhost:6379`` (where
  rq's tests look) goes to the plain server run.py started instead, so nothing touches a server
  it did not start.
* ``ours``: every ``redis.Redis(...)`` / ``redis.StrictRedis(...)`` / ``Redis.from_url(...)``
  built by the library or its tests is a ``StrictRedisCluster`` over the three masters run.py
  started (its config, with the settings for this library, is ``LIBRARY_SUITES_CLUSTER``, JSON).
  ``redis.Redis`` itself stays redis-py's class, so ``isinstance(client, redis.StrictRedis)``
  (python-redis-lock's check) is answered by StrictRedisCluster's own bases. The host, port,
  socket and password given for one server are dropped: the cluster replaces that server.
"""

from __future__ import annotations

import inspect
import json
import os

import redis
import redis.client
import redis.connection

MODE = os.environ.get("LIBRARY_SUITES_MODE")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# redis.Redis(...) arguments that name the one server the cluster replaces.
_ONE_SERVER = (
    "host",
    "port",
    "unix_socket_path",
    "password",
    "username",
    "credential_provider",
    "ssl",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
)
_REDIS_OPTIONS = frozenset(inspect.signature(redis.client.Redis.__init__).parameters) - {"self"}
_installed = False


def _plain_port():
    return int(os.environ["LIBRARY_SUITES_PLAIN_PORT"])


def _redirect_default_server():
    """``plain``: the default server (localhost:6379) is the plain server run.py started."""
    original = redis.connection.Connection.__init__
    port = _plain_port()

    def __init__(self, *args, **kwargs):
        # Pools build their connections from keyword arguments only.
        default_server = kwargs.get("host", "localhost") in _LOCAL_HOSTS
        if not args and default_server and str(kwargs.get("port", 6379)) == "6379":
            kwargs["port"] = port
        original(self, *args, **kwargs)

    redis.connection.Connection.__init__ = __init__


def _swap_in_the_cluster():
    """``ours``: ``redis.Redis(...)`` builds a StrictRedisCluster (a redis.Redis subclass)."""
    import rediscluster

    settings = json.loads(os.environ["LIBRARY_SUITES_CLUSTER"])

    class SwappedCluster(rediscluster.StrictRedisCluster):
        """A StrictRedisCluster built from a one-server ``redis.Redis(...)`` call."""

        def __init__(self, *args, connection_pool=None, **kwargs):
            if args:
                # redis.Redis(host, port, db, password, ...): only the db is kept.
                kwargs.setdefault("db", args[2] if len(args) > 2 else 0)
            if isinstance(connection_pool, rediscluster.pool_view.PoolView):
                kwargs = {k: v for k, v in kwargs.items() if k not in ("db",) + _ONE_SERVER}
                super().__init__(connection_pool=connection_pool, **kwargs)
                return
            if connection_pool is not None:
                # A redis-py pool (Redis.from_url, django-redis): its options that redis.Redis
                # takes too (not parser_class, ...), not its server.
                pool_options = connection_pool.connection_kwargs.items()
                kwargs = {k: v for k, v in pool_options if k in _REDIS_OPTIONS} | kwargs
            for name in _ONE_SERVER:
                kwargs.pop(name, None)
            # Options a redis-py pool carries that describe its own connections.
            for name in ("protocol", "retry", "lib_name", "lib_version", "driver_info"):
                kwargs.pop(name, None)
            cluster = json.loads(json.dumps(settings["cluster"]))
            super().__init__(cluster=cluster, **{**settings.get("client", {}), **kwargs})

        @classmethod
        def from_url(cls, url, **kwargs):
            return redis.client.Redis.from_url.__func__(cls, url, **kwargs)

    def __new__(cls, *args, **kwargs):
        if cls is redis.client.Redis:
            return object.__new__(SwappedCluster)
        return object.__new__(cls)

    redis.client.Redis.__new__ = staticmethod(__new__)


def install():
    """Applies the mode's patch once per process."""
    global _installed
    if _installed or MODE is None:
        return
    _installed = True
    if MODE == "plain":
        _redirect_default_server()
    elif MODE == "ours":
        _swap_in_the_cluster()
    else:
        raise RuntimeError(f"LIBRARY_SUITES_MODE must be plain or ours, got {MODE!r}")


install()
