"""``rediscluster.asyncio.StrictRedisCluster``: redis.asyncio's command methods on the engine.

The methods, signatures and response callbacks are redis.asyncio's (``AsyncCoreCommands``);
placement, routing, emulations and health checks are the engine's, the same as the
synchronous client's: an asyncio client is built on a synchronous one (config validated whole,
the same options and errors) and only changes how a call is waited for. Each call is queued to
the engine's own threads and awaited (``bridge.py``): the event loop never waits for a server,
and a thousand concurrent calls need no thousand threads.
"""

from __future__ import annotations

import asyncio
import os

import redis
import redis.asyncio
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.commands.core import AsyncCoreCommands
from redis.exceptions import ResponseError

from .. import _core, after_fork
from ..client import StrictRedisCluster as SyncCluster
from ..exceptions import CommandNotSupportedError
from ..fast_commands import FastCommands
from ..server_info import ServerInfo
from .bridge import EngineBridge
from .pipeline import ClusterPipeline
from .pubsub import ClusterPubSub

__all__ = ["StrictRedisCluster", "RedisCluster"]

# Engine threads running one client's calls. Each runs one call, or one batch of one-node
# calls sent as a pipeline, at a time; more calls queue (in native code) until a thread is
# free. Half the cores, at most 4: the event loop's own thread needs a core, and on a 2-core
# machine one engine thread gave the most throughput and the least loop lag
# (bench/python_async_bench.py). Blocking commands (BLPOP, XREAD BLOCK, WAIT) get a thread of
# their own instead.
DEFAULT_ENGINE_THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))

# The bridges a forked child inherited: never dropped there (their engine's threads exist only
# in the parent, and its sockets are the parent's).
_INHERITED = []


class StrictRedisCluster(FastCommands, redis.asyncio.Redis):
    """An asyncio Redis client over several independent masters (``node_{crc32(key) % N + 1}``,
    ``name{tag}`` keys by their tag), the same cluster, options and placement as
    ``rediscluster.StrictRedisCluster``; every command is a coroutine, as in redis.asyncio.

    ``engine_threads`` is how many calls the engine runs at once (each waits for one server
    reply at a time); more concurrent calls queue in native code. It is a
    ``redis.asyncio.Redis`` for libraries that check, without redis-py's connection pool.
    """

    def __init__(
        self,
        cluster=None,
        db=None,
        mastersonly=None,
        connection_pool=None,
        engine_threads=DEFAULT_ENGINE_THREADS,
        auto_close_connection_pool=None,
        **kwargs,
    ):
        if not isinstance(engine_threads, int) or isinstance(engine_threads, bool):
            raise TypeError("engine_threads must be an int")
        if not 1 <= engine_threads <= 256:
            raise ValueError(f"engine_threads must be between 1 and 256, got {engine_threads}")
        self._sync = SyncCluster(cluster, db, mastersonly, connection_pool, **kwargs)
        self._engine_threads = engine_threads
        self._bridge = EngineBridge(_core.AsyncCore(self._sync._core, engine_threads))
        self.connection_pool = self._sync.connection_pool
        self.response_callbacks = self._sync.response_callbacks
        self.auto_close_connection_pool = True
        self.connection = None
        self.single_connection_client = False
        self._usage_counter = 0
        self._usage_lock = asyncio.Lock()
        after_fork.track(self)

    @classmethod
    def from_url(cls, url, **kwargs):
        """A client from a redis-py URL naming every master in order (see the synchronous
        ``StrictRedisCluster.from_url``)."""
        sync = SyncCluster.from_url(url, **kwargs)
        return cls(connection_pool=sync.connection_pool)

    def _after_fork_in_child(self):
        # The parent's engine threads do not exist here, and its sockets are the parent's:
        # the child's first call starts threads of its own on the child's engine.
        _INHERITED.append(self._bridge)
        self._bridge = None

    def _live_bridge(self):
        """The bridge, started now if the client's engine threads were stopped (``aclose()``)
        or belong to the parent process (after ``os.fork()``)."""
        bridge = self._bridge
        if bridge is None:
            bridge = self._bridge = self._new_bridge()
        return bridge

    def _new_bridge(self):
        core = self._sync._core
        if isinstance(core, after_fork.EngineAfterFork):
            core = core.engine()
        return EngineBridge(_core.AsyncCore(core, self._engine_threads))

    # -- the engine call ------------------------------------------------------------------

    async def execute_command(self, *args, **options):
        """Runs a command where it belongs, as the synchronous client does, without blocking
        the event loop; the reply is shaped by redis-py's response callbacks."""
        sync = self._sync
        decode = sync._decode and NEVER_DECODE not in options
        # The live bridge itself, not a stand-in: a cancel must reach the bridge that took
        # the call.
        bridge = self._live_bridge()
        try:
            if sync._native:
                ticket, future = bridge.submit(bridge.engine.execute, args, decode)
            else:
                ticket, future = bridge.submit(bridge.engine.execute, sync._encoded(args), False)
            try:
                response = await future
            except asyncio.CancelledError:
                bridge.cancelled(ticket)
                raise
            if not sync._native:
                response = sync._decoded(response, decode)
        except ResponseError:
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise
        return sync._parse(args[0], response, options)

    async def execute_on(self, node, *args, **options):
        """Runs a command as is on one named master (``node_1`` ...): no routing, no tags."""
        sync = self._sync
        decode = sync._decode and NEVER_DECODE not in options
        bridge = self._live_bridge()
        if sync._native:
            response = await bridge.call(bridge.engine.execute_on, node, args, decode)
        else:
            encoded = sync._encoded(args)
            response = await bridge.call(bridge.engine.execute_on, node, encoded, False)
            response = sync._decoded(response, decode)
        return sync._parse(args[0], response, options)

    async def _engine_pipeline(self, commands, decode_flags):
        sync, bridge = self._sync, self._live_bridge()
        if sync._native:
            return await bridge.call(bridge.engine.pipeline, commands, decode_flags)
        encoded = [sync._encoded(a) for a in commands]
        replies = await bridge.call(bridge.engine.pipeline, encoded, [False] * len(commands))
        return sync._decoded_replies(replies, decode_flags)

    async def _engine_transaction(self, commands, decode_flags, watch=None):
        sync, bridge = self._sync, self._live_bridge()
        engine = bridge.engine
        call = (engine.transaction,) if watch is None else (engine.watch_transaction, watch)
        if sync._native:
            return await bridge.call(*call, commands, decode_flags)
        encoded = [sync._encoded(a) for a in commands]
        replies = await bridge.call(*call, encoded, [False] * len(commands))
        return sync._decoded_replies(replies, decode_flags)

    async def _engine_watch(self, method, *args):
        """A call on the engine's watch (``watch``, ``watch_more``, ``watch_execute``,
        ``unwatch``)."""
        bridge = self._live_bridge()
        return await bridge.call(getattr(bridge.engine, method), *args)

    # -- what a sharded client adds --------------------------------------------------------

    def getnodefor(self, key):
        """``{node_name: {'host': ..., 'port': ...}}`` of the master ``key`` is stored on."""
        return self._sync.getnodefor(key)

    @property
    def nodes(self):
        """The masters, ``{'node_1': {'host': ..., 'port': ...}, ...}``."""
        return self._sync.nodes

    def replicas(self):
        """The replicas the client reads from, per master (no I/O)."""
        return self._sync.replicas()

    async def discover_replicas(self):
        """Asks every master for its replicas again (a rare administrative call: it runs on
        the loop's default executor)."""
        await asyncio.get_running_loop().run_in_executor(None, self._sync.discover_replicas)

    # -- redis.asyncio.Redis's non-command API ---------------------------------------------
    # Inherited as redis.asyncio defines them, working through this class: `await client`,
    # `initialize`, `get_encoder` and `get_connection_kwargs` (from the pool view),
    # `set_response_callback`, `transaction` (on `pipeline()`) and `lock` (redis.asyncio's
    # Lock).

    def pipeline(self, transaction=True, shard_hint=None):
        """A pipeline whose ``execute()`` is awaited (see the synchronous client's)."""
        return ClusterPipeline(self, transaction)

    def pubsub(self, **kwargs):
        """An asyncio pub/sub: channels on the master their name hashes to, patterns on every
        master, read as one stream (see the synchronous client's)."""
        return ClusterPubSub(self, **kwargs)

    async def info(self, section=None, *args, **kwargs):
        """Every master's INFO, answering a server field too (see the synchronous client's)."""
        reply = await AsyncCoreCommands.info(self, section, *args, **kwargs)
        return ServerInfo(reply) if type(reply) is dict else reply

    async def aclose(self, close_connection_pool=None):
        """Ends the engine threads (a blocking call still waiting fails) and closes the idle
        connections; the client starts again if used afterwards, as redis.asyncio's."""
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.close()
        self._sync.close()

    async def close(self, close_connection_pool=None):
        """An alias of ``aclose`` (redis.asyncio deprecated it)."""
        await self.aclose(close_connection_pool)

    def __del__(self):
        # redis.asyncio.Redis.__del__ warns about an open connection; there is none. The
        # engine threads end when the bridge is dropped: with the client, or with the event
        # loop that watches its pipe (it holds the bridge until it closes).
        pass

    async def parse_response(self, connection, command_name, **options):
        raise CommandNotSupportedError(
            "parse_response reads a reply from a redis-py connection, and StrictRedisCluster has "
            "none: execute_command sends a command and returns its parsed reply"
        )

    def monitor(self):
        raise CommandNotSupportedError(
            "MONITOR streams one server's commands on a dedicated connection: run it on a "
            f"master itself (redis.asyncio.Redis(host, port).monitor()); the masters are "
            f"{self.nodes}"
        )

    def keyspace_notifications(self, *args, **kwargs):
        raise CommandNotSupportedError(
            "keyspace notifications come from each master: subscribe with pubsub() to "
            "'__keyspace@<db>__:*' patterns, which listen on every master"
        )

    def __repr__(self):
        nodes = ", ".join(f"{name}={a['host']}:{a['port']}" for name, a in self.nodes.items())
        return f"<{type(self).__module__}.{type(self).__name__}({nodes})>"


RedisCluster = StrictRedisCluster
