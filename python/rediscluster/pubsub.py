"""``ClusterPubSub``: redis-py's ``PubSub`` API over the engine's cluster-wide subscription.

A channel is listened to on the master its name hashes to (where ``publish`` sends it), a
pattern on every master; messages from all of them come out of one ``get_message()``.
"""

from __future__ import annotations

from redis.client import PubSubWorkerThread
from redis.commands.helpers import list_or_args, parse_pubsub_subscriptions
from redis.exceptions import ConnectionError, PubSubError

from . import after_fork

__all__ = ["ClusterPubSub"]

PUBLISH_MESSAGE_TYPES = ("message", "pmessage", "smessage")
UNSUBSCRIBE_MESSAGE_TYPES = ("unsubscribe", "punsubscribe", "sunsubscribe")


class ClusterPubSub:
    def __init__(self, client, ignore_subscribe_messages=False, **_ignored):
        self._client = client
        self._subscription = client._core.subscription()
        self._decode = client._decode
        self.encoder = client.get_encoder()
        self.ignore_subscribe_messages = ignore_subscribe_messages
        # name -> handler (or None), keyed as redis-py keys them: str when decoding, else bytes.
        self.channels = {}
        self.patterns = {}
        self.shard_channels = {}
        # Names an UNSUBSCRIBE was sent for, by its confirmation's kind: a confirmation removes
        # a name only when it is still pending, so subscribe / unsubscribe / subscribe again
        # stays subscribed (redis-py's pending_unsubscribe_* sets, its issue #764).
        self._pending = {kind: set() for kind in UNSUBSCRIBE_MESSAGE_TYPES}
        after_fork.track(self)

    def _after_fork_in_child(self):
        # The subscriptions live on the parent's connections: the child leaves them alone.
        self._subscription.forget_after_fork()
        self._subscription = _InheritedSubscription()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def close(self):
        """Unsubscribes from everything and closes the dedicated connections."""
        self._subscription.close()
        self.channels = {}
        self.patterns = {}
        self.shard_channels = {}
        self._pending = {kind: set() for kind in UNSUBSCRIBE_MESSAGE_TYPES}

    reset = close

    @property
    def subscribed(self):
        return bool(self.channels or self.patterns or self.shard_channels)

    # -- subscribing ----------------------------------------------------------------------

    def _named(self, args, kwargs):
        # redis-py's own parsing: names, `Subscription(name, handler)` objects, keywords.
        names = parse_pubsub_subscriptions(args, kwargs)
        encode, decode = self.encoder.encode, self.encoder.decode
        return {decode(encode(name)): handler for name, handler in names.items()}

    def _wire(self, names):
        encode = self.encoder.encode
        return [encode(name) for name in names]

    def _registry(self, unsubscribe_kind):
        return {
            "unsubscribe": self.channels,
            "punsubscribe": self.patterns,
            "sunsubscribe": self.shard_channels,
        }[unsubscribe_kind]

    def _subscribing(self, unsubscribe_kind, named):
        """Records names being subscribed (a pending unsubscription of them is void)."""
        self._pending[unsubscribe_kind].difference_update(named)
        self._registry(unsubscribe_kind).update(named)

    def _unsubscribing(self, unsubscribe_kind, names):
        """Records names being unsubscribed (all of that kind when none is given); their
        confirmations remove them."""
        keys = self._named((names,), {}) if names else self._registry(unsubscribe_kind)
        self._pending[unsubscribe_kind].update(keys)

    def subscribe(self, *args, **kwargs):
        """Subscribes to channels; a keyword argument names a channel and its handler."""
        names = self._named(args, kwargs)
        self._subscription.subscribe(self._wire(names))
        self._subscribing("unsubscribe", names)

    def psubscribe(self, *args, **kwargs):
        """Subscribes to patterns (on every master); keyword arguments give handlers."""
        names = self._named(args, kwargs)
        self._subscription.psubscribe(self._wire(names))
        self._subscribing("punsubscribe", names)

    def ssubscribe(self, *args, target_node=None, **kwargs):
        """Subscribes to shard channels (SSUBSCRIBE) on the master of each channel."""
        names = self._named(args, kwargs)
        self._subscription.ssubscribe(self._wire(names))
        self._subscribing("sunsubscribe", names)

    def unsubscribe(self, *args):
        """Unsubscribes from the given channels, or from all of them."""
        names = list_or_args(args[0], args[1:]) if args else []
        self._subscription.unsubscribe(self._wire(names))
        self._unsubscribing("unsubscribe", names)

    def punsubscribe(self, *args):
        names = list_or_args(args[0], args[1:]) if args else []
        self._subscription.punsubscribe(self._wire(names))
        self._unsubscribing("punsubscribe", names)

    def sunsubscribe(self, *args, target_node=None):
        names = list_or_args(args[0], args[1:]) if args else []
        self._subscription.sunsubscribe(self._wire(names))
        self._unsubscribing("sunsubscribe", names)

    # -- reading --------------------------------------------------------------------------

    def get_message(self, ignore_subscribe_messages=False, timeout=0.0):
        """The next message, waiting up to ``timeout`` seconds (``None``: until one comes);
        ``None`` if nothing came, or if a handler took the message."""
        if not self.subscribed:
            return None
        received = self._subscription.get_message(timeout, self._decode)
        if received is None:
            return None
        return self.handle_message(received, ignore_subscribe_messages)

    get_sharded_message = get_message

    def listen(self):
        """Yields messages while anything is subscribed."""
        while self.subscribed:
            message = self.get_message(timeout=None)
            if message is not None:
                yield message

    def handle_message(self, received, ignore_subscribe_messages=False):
        message, handler = self._route(received, ignore_subscribe_messages)
        if handler is not None:
            handler(message)
            return None
        return message

    def _route(self, received, ignore_subscribe_messages):
        """redis-py's message dict for an engine event, and the handler that takes it (``None``:
        the caller gets it). A confirmation ignored by the settings is ``(None, None)``."""
        kind, pattern, channel, data, _node = received
        message = {"type": kind, "pattern": pattern, "channel": channel, "data": data}
        if kind in UNSUBSCRIBE_MESSAGE_TYPES and channel in self._pending[kind]:
            self._pending[kind].discard(channel)
            self._registry(kind).pop(channel, None)
        if kind in PUBLISH_MESSAGE_TYPES:
            if kind == "pmessage":
                handler = self.patterns.get(pattern)
            elif kind == "smessage":
                handler = self.shard_channels.get(channel)
            else:
                handler = self.channels.get(channel)
            return message, handler
        if ignore_subscribe_messages or self.ignore_subscribe_messages:
            return None, None
        return message, None

    def _require_handlers(self):
        """Every subscribed name has a handler (what a loop delivering to handlers needs)."""
        for registry, what in (
            (self.channels, "Channel"),
            (self.patterns, "Pattern"),
            (self.shard_channels, "Shard Channel"),
        ):
            for name, handler in registry.items():
                if handler is None:
                    raise PubSubError(f"{what}: '{name}' has no handler registered")

    def run_in_thread(self, sleep_time=0.0, daemon=False, exception_handler=None):
        """redis-py's worker thread: every message goes to its handler; ``stop()`` ends it."""
        self._require_handlers()
        thread = PubSubWorkerThread(
            self, sleep_time, daemon=daemon, exception_handler=exception_handler
        )
        thread.start()
        return thread


class _InheritedSubscription:
    """A pub/sub's subscription in a forked child: closed, and every use but ``close`` says
    why."""

    def close(self):
        pass

    def forget_after_fork(self):
        # Forked again: nothing of the parent's is left here to keep.
        pass

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise ConnectionError(
                "this pub/sub was created before os.fork() and listens on the parent's "
                "connections: create a new one with client.pubsub() in the child"
            )

        return refuse
