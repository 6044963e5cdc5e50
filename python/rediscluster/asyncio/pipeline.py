"""``ClusterPipeline`` for asyncio: the synchronous pipeline's queue and result shaping, with
redis.asyncio's awaited ``execute()``, ``watch()``, ``unwatch()`` and ``reset()``."""

from __future__ import annotations

from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import ConnectionError, RedisError, ResponseError, TimeoutError, WatchError

from ..pipeline import ClusterPipeline as SyncPipeline

__all__ = ["ClusterPipeline"]


class ClusterPipeline(SyncPipeline):
    """Queues commands (each call returns the pipeline, as redis.asyncio's) and runs them with
    ``await execute()``: per master in one batch, or in MULTI/EXEC with
    ``transaction=True``. ``await watch(*keys)`` holds one connection of the keys' master;
    commands then run at once (each call is awaited) until ``multi()``."""

    def __init__(self, client, transaction=True):
        # The queue and the reply shaping work on the synchronous client's settings; the
        # calls go through the asyncio client's engine threads.
        super().__init__(client._sync, transaction)
        self._aclient = client

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_value, traceback):
        await self.reset()

    def __await__(self):
        return self._self().__await__()

    async def _self(self):
        return self

    def __enter__(self):
        raise TypeError("an asyncio pipeline is used with `async with`")

    def __exit__(self, exc_type, exc_value, traceback):
        raise TypeError("an asyncio pipeline is used with `async with`")

    async def reset(self):
        """Forgets the queued commands and ends a watch (UNWATCH)."""
        self._queued = []
        self._options = {}
        self.explicit_transaction = False
        watch, self._watch = self._watch, None
        if watch is not None:
            try:
                await self._aclient._engine_watch("unwatch", watch)
            except RedisError:
                watch.close()

    async def aclose(self):
        await self.reset()

    close = aclose

    async def watch(self, *names):
        """Watches ``names`` on one held connection of the master that owns them all (keys on
        several masters raise ``CrossNodeError`` before anything is sent)."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        keys = self._encoded(names)
        if self._watch is None:
            self._watch = await self._aclient._engine_watch("watch", keys)
        else:
            await self._immediately(self._aclient._engine_watch("watch_more", self._watch, keys))
        return True

    async def unwatch(self):
        """Ends the watch (UNWATCH); the connection goes back to the pool."""
        watch, self._watch = self._watch, None
        if watch is not None:
            await self._aclient._engine_watch("unwatch", watch)
        return True

    def execute_command(self, *args, **options):
        if self._watch is not None and not self.explicit_transaction:
            return self._immediate_execute(args, options)
        return super().execute_command(*args, **options)

    pipeline_execute_command = execute_command

    async def _immediate_execute(self, args, options):
        """Between ``watch()`` and ``multi()`` a command runs at once on the held connection."""
        client = self._client
        decode = client._decode and NEVER_DECODE not in options
        watch = self._watch
        try:
            if client._native:
                call = self._aclient._engine_watch("watch_execute", watch, args, decode)
                response = await self._immediately(call)
            else:
                encoded = client._encoded(args)
                call = self._aclient._engine_watch("watch_execute", watch, encoded, False)
                response = client._decoded(await self._immediately(call), decode)
        except ResponseError:
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise
        return client._parse(args[0], response, dict(options))

    async def _immediately(self, call):
        """Awaits a call on the held connection; a broken connection ends the watch (see the
        synchronous pipeline's)."""
        try:
            return await call
        except (ConnectionError, TimeoutError) as error:
            await self.reset()
            raise WatchError(
                f"A {type(error).__name__} occurred while watching one or more keys"
            ) from error

    def pipeline(self, transaction=True, shard_hint=None):
        """A new pipeline of the same client."""
        return self._aclient.pipeline(transaction, shard_hint)

    async def execute(self, raise_on_error=True):
        """Runs the queued commands; their replies in order (see the synchronous pipeline's)."""
        queued, options_at = self._queued, self._options
        watch = self._watch
        self._watch = None
        try:
            if watch is not None and not (self.transaction or self.explicit_transaction):
                # Watching without multi() on a pipeline(transaction=False): no MULTI/EXEC,
                # what was queued runs on the watched connection (as redis-py).
                self._watch = watch
                try:
                    return [
                        await self._immediate_execute(args, options_at.get(at, {}))
                        for at, args in enumerate(queued)
                    ]
                finally:
                    self._watch = None
            if watch is not None or self.transaction or self.explicit_transaction:
                if not queued and watch is None:
                    return []
                stack = self._pairs(queued, options_at)
                commands, decode_flags = self._transaction_commands(stack)
                replies = await self._aclient._engine_transaction(commands, decode_flags, watch)
                return self._transaction_results(stack, replies, raise_on_error)
            if not queued:
                return []
            sent, flags = self._pipeline_sent(queued, options_at)
            replies = await self._aclient._engine_pipeline(sent, flags) if sent else []
            return self._pipeline_results(queued, options_at, replies, raise_on_error)
        finally:
            await self.reset()
            if watch is not None and watch.active:
                # An argument that could not be converted leaves the engine's watch open.
                try:
                    await self._aclient._engine_watch("unwatch", watch)
                except RedisError:
                    watch.close()
