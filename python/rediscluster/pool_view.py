"""``client.connection_pool``: what libraries read from a redis-py pool, answered by the client.

A ``StrictRedisCluster`` has no redis-py connection pool (the engine pools per node), but
libraries written for ``redis.Redis`` read the pool: rq copies ``connection_kwargs`` and checks
``connection_class`` to rebuild a client in a child process, redis-py's ``Script`` asks it for
the encoder, code rebuilds a client with ``type(r)(connection_pool=r.connection_pool)``. This
view answers those (never with the password), carries the cluster config so a client rebuilt
from it is a working cluster client on the same engine, and refuses what would need a redis-py
connection with an error that says why.
"""

from __future__ import annotations

import weakref

from redis.connection import Connection, SSLConnection

from .exceptions import CommandNotSupportedError

__all__ = ["PoolView"]

_NO_CONNECTION = (
    "a StrictRedisCluster has no redis-py connections: the Rust engine owns one pool per node "
    "and every command goes through the client (execute_command, pipeline(), pubsub())"
)


class _Hidden:
    """A value that no repr or ``vars()`` dump shows (a config holds passwords)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "<hidden>"


class PoolView:
    """What redis-py code reads from ``client.connection_pool``.

    ``connection_kwargs`` holds the connection options (never the password), ``connection_class``
    is redis-py's ``Connection`` (``SSLConnection`` with TLS), ``get_encoder()`` the client's
    encoder; ``disconnect()`` / ``reset()`` / ``close()`` close the engine's idle connections (it
    reconnects when used again). It reaches the engine through its client, whose engine is
    replaced in a forked child.
    """

    # redis-py's pools answer these; this client has no client-side cache.
    cache = None

    def __init__(self, connection_kwargs, encoder, client, config):
        self.connection_kwargs = connection_kwargs
        self.connection_class = SSLConnection if config.get("ssl") else Connection
        self._encoder = encoder
        self._client = weakref.ref(client)
        # The whole validated config: a client built from this view when its first client is
        # gone gets a new engine from it. It holds passwords: kept out of reprs and vars().
        self._config = _Hidden(config)

    @property
    def _cluster_config(self):
        """The validated cluster config this view's engine was built from."""
        return self._config.value

    def get_encoder(self):
        return self._encoder

    def engine(self):
        """The engine of the client this view belongs to, or ``None`` once it is gone."""
        client = self._client()
        return None if client is None else client._core

    def adopt(self, client):
        """A client built from this view (its first is gone) becomes the one it reaches."""
        self._client = weakref.ref(client)

    def disconnect(self, inuse_connections=True):
        engine = self.engine()
        if engine is not None:
            engine.disconnect()

    reset = disconnect
    close = disconnect

    def set_retry(self, retry):
        """Accepted as ``retry=`` is: the engine has its own retries and back-off."""

    def get_connection(self, *args, **kwargs):
        raise CommandNotSupportedError(_NO_CONNECTION)

    make_connection = get_connection
    release = get_connection

    def __getattr__(self, name):
        # Only for names this class does not define: say what this object is.
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"StrictRedisCluster's connection_pool has no {name!r}: it is a view of the client "
            "(connection_kwargs, connection_class, get_encoder(), disconnect(), reset()); "
            + _NO_CONNECTION
        )

    def __repr__(self):
        engine = self.engine()
        return f"<{type(self).__module__}.{type(self).__name__}({engine!r})>"
