"""``ClusterPubSub`` for asyncio: the synchronous pub/sub's subscription (a channel on the master
its name hashes to, patterns on every master, one merged stream), with redis.asyncio's
awaited API.

Nothing waits on a thread per pub/sub: the engine's reader threads (one per master connection,
as for the synchronous client) wake the event loop after every frame they receive, through the
same pipe as the client's calls; ``get_message`` then has an engine thread take what arrived
(reconnecting a lost master first) without waiting. Subscribing runs on the engine's threads
too (a first channel on a master opens its connection): nothing of it holds the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings

from redis.commands.helpers import list_or_args
from redis.exceptions import PubSubError

from .. import _core
from ..pubsub import ClusterPubSub as SyncPubSub

__all__ = ["ClusterPubSub"]


class ClusterPubSub(SyncPubSub):
    """redis.asyncio's ``PubSub`` API: ``await subscribe(...)``, ``await get_message(timeout=)``,
    ``async for message in listen()``, ``await run()``, ``async with``; handlers may be
    coroutine functions."""

    def __init__(self, client, ignore_subscribe_messages=False, **_ignored):
        super().__init__(client._sync, ignore_subscribe_messages)
        self._aclient = client
        # The bridge whose pipe wakes this pub/sub, and its stream ticket there.
        self._woken_by = None
        self._ready = None
        self._ready_loop = None
        # Subscribed or connected once (redis.asyncio refuses to read before that).
        self._connected = False

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_value, traceback):
        await self.aclose()

    def __enter__(self):
        raise TypeError("an asyncio pub/sub is used with `async with`")

    def __exit__(self, exc_type, exc_value, traceback):
        raise TypeError("an asyncio pub/sub is used with `async with`")

    async def aclose(self):
        """Unsubscribes from everything and closes the dedicated connections."""
        self._unwatch()
        super().close()

    async def connect(self):
        """Makes the pub/sub ready to read (redis.asyncio's ``connect``): the engine opens a
        master's connection when a name there is first subscribed."""
        await self._watch()

    async def close(self):
        """An alias of ``aclose`` (redis.asyncio deprecated it)."""
        warnings.warn("Call to deprecated close. (Use aclose() instead)", DeprecationWarning, 2)
        await self.aclose()

    async def reset(self):
        """An alias of ``aclose`` (redis.asyncio deprecated it)."""
        warnings.warn("Call to deprecated reset. (Use aclose() instead)", DeprecationWarning, 2)
        await self.aclose()

    def __del__(self):
        try:
            self._unwatch()
            SyncPubSub.close(self)
        except Exception:
            pass

    def _unwatch(self):
        woken_by, self._woken_by = self._woken_by, None
        if woken_by is not None:
            bridge, stream = woken_by
            bridge.end_stream(stream)

    async def _watch(self):
        """Makes the engine wake this pub/sub on the client's current bridge (a new one after
        ``aclose()`` or a fork), and the ready flag belong to the running loop."""
        if not isinstance(self._subscription, _core.Subscription):
            # Inherited from the parent process: its use raises the error saying so.
            self._subscription.channels()
        self._connected = True
        bridge = self._aclient._live_bridge()
        loop = asyncio.get_running_loop()
        if self._ready_loop is not loop:
            self._ready = asyncio.Event()
            self._ready_loop = loop
        if self._woken_by is None or self._woken_by[0] is not bridge:
            self._unwatch()
            stream = bridge.stream(self._woken)
            self._woken_by = (bridge, stream)
            await bridge.call(bridge.engine.wake_on, stream, self._subscription)

    def _woken(self, _value, _failed):
        if self._ready is not None:
            self._ready.set()

    # -- subscribing ----------------------------------------------------------------------

    async def _change(self, kind, wire, record):
        """Runs a (un)subscription on the engine's threads. ``record()`` notes it first, so a
        cancelled call (which still runs to its end in the engine) leaves it noted."""
        await self._watch()
        record()
        bridge = self._aclient._live_bridge()
        await bridge.call(bridge.engine.subscription_change, self._subscription, kind, wire)
        # A confirmation may have arrived while the change held the subscription.
        self._ready.set()

    async def subscribe(self, *args, **kwargs):
        """Subscribes to channels; a keyword argument names a channel and its handler."""
        names = self._named(args, kwargs)
        await self._change(
            "subscribe", self._wire(names), lambda: self._subscribing("unsubscribe", names)
        )

    async def psubscribe(self, *args, **kwargs):
        """Subscribes to patterns (on every master); keyword arguments give handlers."""
        names = self._named(args, kwargs)
        await self._change(
            "psubscribe", self._wire(names), lambda: self._subscribing("punsubscribe", names)
        )

    async def ssubscribe(self, *args, target_node=None, **kwargs):
        """Subscribes to shard channels (SSUBSCRIBE) on the master of each channel."""
        names = self._named(args, kwargs)
        await self._change(
            "ssubscribe", self._wire(names), lambda: self._subscribing("sunsubscribe", names)
        )

    async def unsubscribe(self, *args):
        names = list_or_args(args[0], args[1:]) if args else []
        await self._change(
            "unsubscribe", self._wire(names), lambda: self._unsubscribing("unsubscribe", names)
        )

    async def punsubscribe(self, *args):
        names = list_or_args(args[0], args[1:]) if args else []
        await self._change(
            "punsubscribe", self._wire(names), lambda: self._unsubscribing("punsubscribe", names)
        )

    async def sunsubscribe(self, *args, target_node=None):
        names = list_or_args(args[0], args[1:]) if args else []
        await self._change(
            "sunsubscribe", self._wire(names), lambda: self._unsubscribing("sunsubscribe", names)
        )

    # -- reading --------------------------------------------------------------------------

    async def get_message(self, ignore_subscribe_messages=False, timeout=0.0):
        """The next message, waiting up to ``timeout`` seconds (``None``: until one comes)
        without blocking the loop; ``None`` if nothing came, or if a handler took it. Before
        any subscribe() or connect(): ``RuntimeError``, as redis.asyncio; nothing subscribed
        any more: ``None`` after ``timeout``."""
        if not self._connected:
            raise RuntimeError(
                "pubsub connection not set: did you forget to call subscribe() or psubscribe()?"
            )
        if not self.subscribed:
            # Nothing can come; a loop polling this still lets other tasks run.
            await asyncio.sleep(timeout or 0)
            return None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            # Each round on the client's current bridge: a client closed meanwhile (aclose)
            # starts a new one, and the wake-ups follow.
            await self._watch()
            bridge = self._aclient._live_bridge()
            # Cleared before looking: a frame that arrives after the look sets it again.
            self._ready.clear()
            received = await bridge.call(
                bridge.engine.subscription_poll, self._subscription, self._decode
            )
            if received is not None:
                return await self._handle(received, ignore_subscribe_messages)
            if deadline is None:
                await self._ready.wait()
                continue
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self._ready.wait(), left)
            except asyncio.TimeoutError:
                return None

    get_sharded_message = get_message

    async def _handle(self, received, ignore_subscribe_messages):
        message, handler = self._route(received, ignore_subscribe_messages)
        if handler is None:
            return message
        result = handler(message)
        if inspect.isawaitable(result):
            await result
        return None

    async def listen(self):
        """Yields messages while anything is subscribed."""
        while self.subscribed:
            message = await self.get_message(timeout=None)
            if message is not None:
                yield message

    async def run(self, *, exception_handler=None, poll_timeout=1.0):
        """redis.asyncio's ``run``: every message goes to its handler until cancelled."""
        self._require_handlers()
        await self.connect()
        while True:
            try:
                await self.get_message(ignore_subscribe_messages=True, timeout=poll_timeout)
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                if exception_handler is None:
                    raise
                result = exception_handler(error, self)
                if inspect.isawaitable(result):
                    await result
            # Other tasks run between two messages, even when nothing here had to wait.
            await asyncio.sleep(0)

    def run_in_thread(self, *args, **kwargs):
        raise PubSubError("an asyncio pub/sub runs on its loop: use `await pubsub.run()`")
