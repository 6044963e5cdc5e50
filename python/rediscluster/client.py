"""``StrictRedisCluster``: redis-py's command methods on the Rust engine.

The methods, their signatures and their docstrings are redis-py's (``CoreCommands`` and the
module commands); this class only supplies ``execute_command`` (the engine call, then
redis-py's response callbacks) and what a sharded client adds: ``getnodefor``, per-node
answers for server-wide commands, a sharded pipeline and pub/sub.
"""

from __future__ import annotations

import codecs
import inspect
import time

import redis
from redis._parsers.encoders import Encoder
from redis._parsers.helpers import get_response_callbacks
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, CaseInsensitiveDict
from redis.commands import CoreCommands
from redis.exceptions import ResponseError, WatchError

from . import _core, after_fork
from .exceptions import ClusterConfigError, CommandNotSupportedError
from .fast_commands import FastCommands
from .pipeline import ClusterPipeline
from .pool_view import PoolView
from .pubsub import ClusterPubSub
from .scripts import ClusterScript
from .server_info import ServerInfo
from .urls import cluster_from_url

__all__ = ["StrictRedisCluster", "RedisCluster"]

# redis-py connection options and what becomes of them here.
# Given to the engine for every node (a node's own settings in the cluster dict win).
_ENGINE_OPTIONS = (
    "password",
    "username",
    "socket_timeout",
    "socket_connect_timeout",
    "ssl",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "ssl_check_hostname",
)
# Shape what Python sees; handled in this module.
_PYTHON_OPTIONS = ("encoding", "encoding_errors", "decode_responses")
# Tune a redis-py connection pool; the engine has its own pools, retries and health checks,
# so these have nothing to change and are accepted for drop-in compatibility.
_POOL_TUNING = (
    "socket_keepalive",
    "socket_keepalive_options",
    "socket_read_size",
    "retry_on_timeout",
    "retry",
    "retry_on_error",
    "max_connections",
    "single_connection_client",
    "health_check_interval",
    "lib_name",
    "lib_version",
    "driver_info",
    "event_dispatcher",
    "maint_notifications_config",
    "oss_cluster_maint_notifications_handler",
)
# Options whose non-default value would change behaviour in a way this client cannot honour:
# refused with a reason rather than silently ignored.
_UNSUPPORTED = {
    "host": "the nodes come from `cluster`",
    "port": "the nodes come from `cluster`",
    "unix_socket_path": "nodes are host:port addresses",
    "client_name": "the engine's pooled connections carry no per-client state",
    "credential_provider": "give `username`/`password` (for all nodes or per node)",
    "redis_connect_func": "the engine opens its own connections",
    "cache": "client-side caching is not supported",
    "cache_config": "client-side caching is not supported",
    "protocol": "replies are RESP2-shaped (protocol 2)",
    "legacy_responses": "replies are redis-py's legacy (RESP2) shapes",
}
_NO_HIMPORT = (
    "HIMPORT fieldsets are prepared per connection, and the engine's pooled connections carry "
    "no per-client state"
)
_SIGNATURE = inspect.signature(redis.Redis.__init__).parameters
_DEFAULTS = {name: p.default for name, p in _SIGNATURE.items() if name != "self"}
# A value that means "not set", whatever redis-py's default for it is.
_NOT_SET = (None, False, 2, "2")


def _is_default(name, value):
    if name == "legacy_responses":
        return value is True
    if name == "ssl" or name.startswith("ssl_"):
        return not value or value == _DEFAULTS.get(name)
    return value in _NOT_SET or value is _DEFAULTS.get(name)


def _cert_reqs_name(value):
    """redis-py takes ``ssl_cert_reqs`` as text or as an ``ssl.VerifyMode``; the engine as
    text. (On a client, CERT_OPTIONAL checks exactly what CERT_REQUIRED does.)"""
    if isinstance(value, int):
        return {0: "none", 1: "optional", 2: "required"}.get(int(value), str(value))
    return value


# redis.Redis comes last: ``isinstance(r, redis.Redis)`` (and ``redis.StrictRedis``, the same
# class) holds for libraries that check it (python-redis-lock), while every method this class
# or FastCommands defines comes first in the MRO. redis.Redis.__init__ is never called: no
# redis-py pool is built; its non-command methods are overridden here or work through the
# client (tests/test_redis_subclass.py checks each).
class StrictRedisCluster(FastCommands, redis.Redis):
    """A Redis client over several independent masters: each key lives on
    ``node_{crc32(key) % N + 1}`` (``name{tag}`` keys by their tag, stored as ``name``).

    ``cluster`` is the seed's dict: ``{'nodes': {'node_1': {'host': ..., 'port': ...}, ...},
    'master_of': {...}}``. ``db`` and ``mastersonly`` (reads to masters only, for
    read-your-writes) may be given here or in the dict; ``kwargs`` are redis-py's connection
    options (``password``, ``username``, ``socket_timeout``, ``socket_connect_timeout``,
    ``ssl``, ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``,
    ``ssl_check_hostname``, ``decode_responses``, ``encoding``, ``encoding_errors``, ...).
    Replica health is tuned in the dict: ``max_replica_lag`` and ``replica_check_interval``
    (seconds).

    It is a ``redis.Redis`` (so a ``redis.StrictRedis``) for libraries that check, without
    redis-py's connection pool: ``connection_pool`` is a view answering what libraries read
    from one, and ``StrictRedisCluster(connection_pool=r.connection_pool)`` is a client on
    ``r``'s engine (as redis-py clients share a pool).
    """

    def __init__(self, cluster=None, db=None, mastersonly=None, connection_pool=None, **kwargs):
        if connection_pool is not None:
            return self._init_from_view(connection_pool, cluster, db, mastersonly, kwargs)
        if cluster is None:
            # Code that rebuilds a client from another's connection_kwargs lands here.
            raise ClusterConfigError(
                "StrictRedisCluster needs `cluster` (its masters: {'nodes': {'node_1': {'host': "
                "..., 'port': ...}}}); connection options alone name no server. To rebuild a "
                "client, use StrictRedisCluster(connection_pool=client.connection_pool) or "
                "StrictRedisCluster.from_url('redis://host1:port1,host2:port2/0')"
            )
        if not isinstance(cluster, dict):
            raise ClusterConfigError(
                "`cluster` must be a dict like {'nodes': {'node_1': {'host': ..., 'port': ...}}}"
                f", got {type(cluster).__name__}"
            )
        config = dict(cluster)
        if db is not None:
            config["db"] = db
        if mastersonly is not None:
            config["mastersonly"] = mastersonly
        python_options = {}
        for name, value in kwargs.items():
            if name not in _DEFAULTS:
                raise TypeError(f"StrictRedisCluster() got an unexpected keyword argument '{name}'")
            if name in _ENGINE_OPTIONS:
                if name == "ssl_cert_reqs":
                    value = _cert_reqs_name(value)
                if value is not None:
                    config[name] = value
            elif name in _PYTHON_OPTIONS:
                python_options[name] = value
            elif name in _POOL_TUNING:
                pass
            elif not _is_default(name, value):
                fallback = (
                    "the engine's TLS takes ssl, ssl_ca_certs, ssl_certfile, ssl_keyfile, "
                    "ssl_cert_reqs and ssl_check_hostname"
                    if name.startswith("ssl")
                    else "unused here"
                )
                reason = _UNSUPPORTED.get(name, fallback)
                # A secret (ssl_password, ...) is named, never shown.
                shown = "<hidden>" if "password" in name else repr(value)
                raise ClusterConfigError(f"option {name}={shown} is not supported: {reason}")

        encoding = python_options.get("encoding", "utf-8")
        encoding_errors = python_options.get("encoding_errors", "strict")
        decode_responses = bool(python_options.get("decode_responses", False))
        try:
            codecs.lookup(encoding)
            codecs.lookup_error(encoding_errors)
        except LookupError as error:
            raise ClusterConfigError(str(error)) from None
        self._build(_core.Core(config), config, encoding, encoding_errors, decode_responses)

    def _build(self, engine, config, encoding, encoding_errors, decode_responses):
        codec = codecs.lookup(encoding).name
        self._core = engine
        self._decode = decode_responses
        # The engine encodes str as UTF-8 and decodes UTF-8 itself; other codecs go through
        # redis-py's encoder here.
        self._native = codec == "utf-8" and encoding_errors == "strict"
        self._encoder = Encoder(encoding, encoding_errors, decode_responses)
        self._nodes = {
            name: {"host": host, "port": port} for name, host, port in self._core.masters()
        }
        connection_kwargs = {
            "db": config.get("db", 0),
            "username": config.get("username"),
            "socket_timeout": config.get("socket_timeout"),
            "socket_connect_timeout": config.get("socket_connect_timeout"),
            "encoding": encoding,
            "encoding_errors": encoding_errors,
            "decode_responses": decode_responses,
            # The engine speaks RESP2; the callbacks below are redis-py's for RESP2 replies.
            "protocol": 2,
        }
        self.connection_pool = PoolView(connection_kwargs, self._encoder, self, config)
        self.response_callbacks = CaseInsensitiveDict(
            get_response_callbacks(user_protocol=2, legacy_responses=True)
        )
        after_fork.track(self)

    def _init_from_view(self, view, cluster, db, mastersonly, kwargs):
        """A client on the engine of the client whose ``connection_pool`` this is (a new engine
        from the same config once that client is gone); ``decode_responses`` / ``encoding``
        may differ, as with a shared redis-py pool."""
        if not isinstance(view, PoolView):
            raise ClusterConfigError(
                "connection_pool must be a StrictRedisCluster's connection_pool (a redis-py "
                f"{type(view).__name__} holds one server's connections; the engine owns its "
                "own): give `cluster`, or use StrictRedisCluster.from_url"
            )
        unexpected = [
            name
            for name, value in (("cluster", cluster), ("db", db), ("mastersonly", mastersonly))
            if value is not None
        ]
        unexpected += [name for name in kwargs if name not in _PYTHON_OPTIONS + _POOL_TUNING]
        if unexpected:
            raise ClusterConfigError(
                f"options {', '.join(unexpected)} cannot be given with connection_pool: the "
                "client shares that pool's engine and its settings"
            )
        shown = view.connection_kwargs
        options = {name: kwargs.get(name, shown[name]) for name in _PYTHON_OPTIONS}
        engine = view.engine()
        if engine is None:
            engine = _core.Core(view._cluster_config)
            view.adopt(self)
        self._build(engine, view._cluster_config, *(options[name] for name in _PYTHON_OPTIONS))
        # One view per engine, as redis-py clients built on a pool share that pool.
        self.connection_pool = view

    @classmethod
    def from_url(cls, url, **kwargs):
        """A client from a redis-py URL naming every master in order:
        ``redis://[[user]:password@]host1:port1,host2:port2[/db][?option=value]`` (``rediss://``
        for TLS); the URL's query options win over ``kwargs``, as in redis-py."""
        cluster, options = cluster_from_url(url, kwargs)
        return cls(cluster=cluster, **options)

    def _after_fork_in_child(self):
        self._core = after_fork.EngineAfterFork(self, self._core)

    # -- the engine call ------------------------------------------------------------------

    def execute_command(self, *args, **options):
        """Runs a command where it belongs (one node, split over nodes, emulated, or on every
        master) and returns its reply shaped by redis-py's response callbacks. A server-wide
        command answers ``{node_name: reply}``."""
        decode = self._decode and NEVER_DECODE not in options
        try:
            if self._native:
                response = self._core.execute(args, decode)
            else:
                response = self._decoded(self._core.execute(self._encoded(args), False), decode)
        except ResponseError:
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise
        return self._parse(args[0], response, options)

    def _parse(self, command_name, response, options):
        if not isinstance(command_name, str):
            return response
        callback = self.response_callbacks.get(command_name)
        if callback is None:
            return response
        if options:
            options.pop(NEVER_DECODE, None)
            options.pop(EMPTY_RESPONSE, None)
            options.pop("keys", None)
        if type(response) is dict:
            # A server-wide command answered by every master: each answer gets the callback.
            return {
                node: reply if isinstance(reply, Exception) else callback(reply, **options)
                for node, reply in response.items()
            }
        return callback(response, **options)

    def _encoded(self, args):
        """Arguments as bytes with this client's codec (the engine's own path is UTF-8)."""
        if isinstance(args[0], str) and " " in args[0]:
            args = (*args[0].split(), *args[1:])
        encode = self._encoder.encode
        return tuple(encode(arg) for arg in args)

    def _decoded(self, response, decode):
        if not decode:
            return response
        if isinstance(response, bytes):
            return response.decode(self._encoder.encoding, self._encoder.encoding_errors)
        if isinstance(response, list):
            return [self._decoded(item, decode) for item in response]
        if isinstance(response, dict):
            return {node: self._decoded(reply, decode) for node, reply in response.items()}
        return response

    def _core_pipeline(self, commands, decode_flags):
        if self._native:
            return self._core.pipeline(commands, decode_flags)
        replies = self._core.pipeline([self._encoded(a) for a in commands], [False] * len(commands))
        return self._decoded_replies(replies, decode_flags)

    def _core_transaction(self, commands, decode_flags):
        if self._native:
            return self._core.transaction(commands, decode_flags)
        encoded = [self._encoded(a) for a in commands]
        replies = self._core.transaction(encoded, [False] * len(commands))
        return self._decoded_replies(replies, decode_flags)

    def _decoded_replies(self, replies, decode_flags):
        """Replies of commands sent encoded by ``_encoded``, decoded where the flag says
        (``None``, an aborted transaction, stays ``None``)."""
        if replies is None:
            return None
        return [self._decoded(r, d) for r, d in zip(replies, decode_flags, strict=True)]

    # -- what a sharded client adds --------------------------------------------------------

    def getnodefor(self, key):
        """``{node_name: {'host': ..., 'port': ...}}`` of the master ``key`` is (or would be)
        stored on; ``name{tag}`` keys are placed by ``tag``."""
        if not self._native:
            key = self._encoder.encode(key)
        name = self._core.node_for(key)
        if name not in self._nodes:
            # A Redis Cluster's masters change (a failover, a new master): as they are now.
            self._nodes = self._masters_now()
        return {name: dict(self._nodes[name])}

    def _masters_now(self):
        return {name: {"host": host, "port": port} for name, host, port in self._core.masters()}

    def execute_on(self, node, *args, **options):
        """Runs a command as is on one named master (``node_1`` ...): no routing, no tags."""
        decode = self._decode and NEVER_DECODE not in options
        if self._native:
            response = self._core.execute_on(node, args, decode)
        else:
            response = self._core.execute_on(node, self._encoded(args), False)
            response = self._decoded(response, decode)
        return self._parse(args[0], response, options)

    @property
    def nodes(self):
        """The masters, ``{'node_1': {'host': ..., 'port': ...}, ...}`` (on a Redis Cluster
        its masters now, named ``host:port``)."""
        self._nodes = self._masters_now()
        return {name: dict(address) for name, address in self._nodes.items()}

    def replicas(self):
        """The replicas the client reads from, per master: ``{'node_1': [{'name': ...,
        'host': ..., 'port': ...}], ...}`` (after discovery or from ``master_of``)."""
        return {
            name: [
                {"name": replica, "host": host, "port": port}
                for replica, host, port in self._core.replicas(name)
            ]
            for name in self._nodes
        }

    def discover_replicas(self):
        """Asks every master for its replicas again (after adding or removing one)."""
        self._core.discover_replicas()

    # -- redis.Redis's non-command API -----------------------------------------------------

    def get_encoder(self):
        return self._encoder

    def get_connection_kwargs(self):
        return self.connection_pool.connection_kwargs

    def set_response_callback(self, command, callback):
        self.response_callbacks[command] = callback

    def pipeline(self, transaction=True, shard_hint=None):
        """A pipeline: commands are queued and sent per master in one batch by ``execute()``.
        With ``transaction=True`` (redis-py's default) they run in MULTI/EXEC, which needs
        every key on one master (give them one hash tag)."""
        return ClusterPipeline(self, transaction)

    def transaction(
        self, func, *watches, shard_hint=None, value_from_callable=False, watch_delay=None
    ):
        """redis-py's ``transaction`` helper: ``func(pipe)`` runs with ``watches`` watched on
        one held connection (they must share a master: one hash tag), reads at once, calls
        ``pipe.multi()`` and queues the writes; the transaction then runs, and when a watched
        key changed meanwhile (``WatchError``) it all starts again, after ``watch_delay``
        seconds if given. Returns EXEC's replies, or ``func``'s value with
        ``value_from_callable=True``."""
        with self.pipeline(True, shard_hint) as pipe:
            while True:
                try:
                    if watches:
                        pipe.watch(*watches)
                    func_value = func(pipe)
                    exec_value = pipe.execute()
                    return func_value if value_from_callable else exec_value
                except WatchError:
                    if watch_delay is not None and watch_delay > 0:
                        time.sleep(watch_delay)

    def pubsub(self, **kwargs):
        """A pub/sub object: channels are listened to on the master their name hashes to
        (where ``publish`` sends), patterns on every master."""
        return ClusterPubSub(self, **kwargs)

    def lock(
        self,
        name,
        timeout=None,
        sleep=0.1,
        blocking=True,
        blocking_timeout=None,
        lock_class=None,
        thread_local=True,
        raise_on_release_error=True,
    ):
        """redis-py's ``Lock`` on the master that owns ``name``."""
        if lock_class is None:
            lock_class = redis.lock.Lock
        return lock_class(
            self,
            name,
            timeout=timeout,
            sleep=sleep,
            blocking=blocking,
            blocking_timeout=blocking_timeout,
            thread_local=thread_local,
            raise_on_release_error=raise_on_release_error,
        )

    def close(self):
        """Closes the idle connections; the client reconnects if used again (as redis-py)."""
        # A client whose construction failed has no engine (redis-py's close allows it too).
        core = getattr(self, "_core", None)
        if core is not None:
            core.disconnect()

    def __del__(self):
        # redis.Redis.__del__ closes its pool; the engine closes its connections when the last
        # client using it is dropped, and clients built on one view share it.
        pass

    def info(self, section=None, *args, **kwargs):
        """Every master's INFO, ``{'node_1': {...}, ...}``, which also answers a server field
        (``info('server')['redis_version']``, ``info()['used_memory']``) as the first master
        reports it: see ``rediscluster.server_info``."""
        reply = CoreCommands.info(self, section, *args, **kwargs)
        return ServerInfo(reply) if type(reply) is dict else reply

    def register_script(self, script):
        """redis-py's ``Script``, loaded (on NOSCRIPT) on the master that runs it; keys on
        several masters raise ``CrossNodeError`` naming each key's master."""
        return ClusterScript(self, script)

    def parse_response(self, connection, command_name, **options):
        raise CommandNotSupportedError(
            "parse_response reads a reply from a redis-py connection, and StrictRedisCluster has "
            "none: execute_command sends a command and returns its parsed reply"
        )

    def monitor(self):
        raise CommandNotSupportedError(
            "MONITOR streams one server's commands on a dedicated connection: run it on a "
            f"master itself (redis.Redis(host, port).monitor()); the masters are {self.nodes}"
        )

    @property
    def himport_registry(self):
        raise CommandNotSupportedError(_NO_HIMPORT)

    def himport_prepare(self, fieldset_name, fields):
        raise CommandNotSupportedError(_NO_HIMPORT)

    def himport_discard(self, fieldset_name):
        raise CommandNotSupportedError(_NO_HIMPORT)

    def himport_discard_all(self):
        raise CommandNotSupportedError(_NO_HIMPORT)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def __repr__(self):
        nodes = ", ".join(f"{name}={a['host']}:{a['port']}" for name, a in self._nodes.items())
        return f"<{type(self).__module__}.{type(self).__name__}({nodes})>"


RedisCluster = StrictRedisCluster
