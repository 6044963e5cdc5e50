"""``ClusterPipeline``: redis-py's pipeline API over the engine's per-master batches."""

from __future__ import annotations

from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.commands import CoreCommands, RedisModuleCommands
from redis.exceptions import (
    ConnectionError,
    RedisError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from redis.utils import safe_str, truncate_text

from .fast_commands import FastCommands

__all__ = ["ClusterPipeline"]

_NOT_LOOKED_UP = object()


class ClusterPipeline(FastCommands, RedisModuleCommands, CoreCommands):
    """Queues commands and runs them with ``execute()``.

    Without a transaction, consecutive commands are sent to their masters in one batch per
    master and answered in order (a command over several nodes runs at its place). With
    ``transaction=True`` the commands run in MULTI/EXEC on the one master that owns all
    their keys (hash tags); keys on several masters are refused before anything is sent,
    unless the cluster config says ``"cross_node_transactions": "per_node"`` (one MULTI/EXEC
    per master: atomic on each master, not across them).

    ``watch(*keys)`` works as redis-py's: it holds one connection of the master that owns
    every watched key (keys on several masters: ``CrossNodeError``, nothing sent); commands
    run at once on it until ``multi()``, after which they are queued; ``execute()`` runs
    MULTI/EXEC on it and raises ``WatchError`` when a watched key changed (nothing applied).
    ``unwatch()`` and ``reset()`` give the connection back.
    """

    def __init__(self, client, transaction=True):
        self._client = client
        self.transaction = transaction
        self.response_callbacks = client.response_callbacks
        # The queued commands: each one's argument tuple, and the execute options of the few
        # that have any, by position. redis-py keeps an (args, options) pair per command: one
        # more object per command for the garbage collector to track, whose collections made
        # queueing a 10k-command pipeline three times slower in a program with a large heap.
        self._queued = []
        self._options = {}
        self.explicit_transaction = False
        # The engine's watch (`_core.Watch`: one held connection) between watch() and the
        # end of the transaction, unwatch() or reset().
        self._watch = None

    @property
    def watching(self):
        """Whether a WATCH holds a connection (redis-py's attribute; libraries read it)."""
        return self._watch is not None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.reset()

    @property
    def command_stack(self):
        """redis-py's view of the queue: an ``(args, options)`` pair per queued command. A
        tuple, made at each access: queue commands by calling them (``pipe.set(...)``), or
        assign a whole new stack; changing this one in place would change nothing."""
        return tuple(self._pairs(self._queued, self._options))

    @command_stack.setter
    def command_stack(self, pairs):
        self._queued = [args for args, _ in pairs]
        self._options = {at: options for at, (_, options) in enumerate(pairs) if options}

    @staticmethod
    def _pairs(queued, options_at):
        return [(args, options_at.get(at, {})) for at, args in enumerate(queued)]

    def __len__(self):
        return len(self._queued)

    def __bool__(self):
        return True

    def reset(self):
        """Forgets the queued commands and ends a watch (UNWATCH; the connection goes back to
        the pool, or is closed when UNWATCH fails)."""
        self._queued = []
        self._options = {}
        self.explicit_transaction = False
        watch, self._watch = self._watch, None
        if watch is not None:
            try:
                watch.unwatch()
            except RedisError:
                # The engine closed the connection, and the server forgot the watch with it.
                watch.close()

    close = reset

    def __del__(self):
        # A pipeline dropped while watching: close the held connection now rather than when
        # the garbage collector gets to the engine's object (no round trip in a finalizer).
        watch = getattr(self, "_watch", None)
        if watch is not None:
            watch.close()

    def multi(self):
        """Starts the transaction block explicitly (as redis-py: before any queued command;
        after ``watch()``, the commands that follow are queued instead of run at once)."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self._queued:
            raise RedisError("Commands without an initial WATCH have already been issued")
        self.explicit_transaction = True

    def watch(self, *names):
        """Watches ``names`` on one held connection of the master that owns them all (keys on
        several masters raise ``CrossNodeError`` before anything is sent). Watching again
        adds keys, which must be on the same master."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        keys = self._encoded(names)
        if self._watch is None:
            self._watch = self._client._core.watch(keys)
        else:
            self._immediately(lambda: self._watch.watch_more(keys))
        return True

    def unwatch(self):
        """Ends the watch (UNWATCH); the connection goes back to the pool."""
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.unwatch()
        return True

    def execute_command(self, *args, **options):
        if self._watch is not None and not self.explicit_transaction:
            return self._immediate_execute(args, options)
        if options:
            # redis-py's command methods pass `keys` for its client-side cache, which this
            # client has not: dropped, so a GET is queued as lightly as a SET.
            options.pop("keys", None)
            if options:
                self._options[len(self._queued)] = options
        self._queued.append(args)
        return self

    def _immediate_execute(self, args, options):
        """redis-py's immediate mode: between watch() and multi(), a command runs at once on
        the held connection and answers its reply."""
        client = self._client
        decode = client._decode and NEVER_DECODE not in options
        watch = self._watch
        try:
            if client._native:
                response = self._immediately(lambda: watch.execute(args, decode))
            else:
                encoded = client._encoded(args)
                response = self._immediately(lambda: watch.execute(encoded, False))
                response = client._decoded(response, decode)
        except ResponseError:
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise
        return client._parse(args[0], response, dict(options))

    def _immediately(self, call):
        """Runs a call on the held connection. When the connection broke, the watch is over
        (the server dropped it with the connection): as redis-py, the pipeline is reset and
        ``WatchError`` raised, so a retry loop starts again from WATCH."""
        try:
            return call()
        except (ConnectionError, TimeoutError) as error:
            self.reset()
            raise WatchError(
                f"A {type(error).__name__} occurred while watching one or more keys"
            ) from error

    def _encoded(self, names):
        client = self._client
        return names if client._native else client._encoded(("WATCH", *names))[1:]

    pipeline_execute_command = execute_command

    def get_encoder(self):
        return self._client.get_encoder()

    @property
    def connection_pool(self):
        """The client's pool view (redis-py's pipelines carry their client's pool)."""
        return self._client.connection_pool

    def pipeline(self, transaction=True, shard_hint=None):
        """A new pipeline of the same client, as redis-py's ``Pipeline.pipeline()`` (a
        pipeline is a client there: libraries handed one as their connection call it)."""
        return self._client.pipeline(transaction, shard_hint)

    def get_connection_kwargs(self):
        return self._client.get_connection_kwargs()

    def execute(self, raise_on_error=True):
        """Runs the queued commands and returns their replies in order. An error reply is
        raised (the first one, naming its command) unless ``raise_on_error=False``, which
        leaves each error in its place."""
        queued, options_at = self._queued, self._options
        watch = self._watch
        # The watch ends with this call whatever happens: its EXEC ends it on the server, and
        # the engine closes a connection whose exchange failed.
        self._watch = None
        try:
            if watch is not None and not (self.transaction or self.explicit_transaction):
                # Watching without multi() on a pipeline(transaction=False): redis-py sends no
                # MULTI/EXEC (a changed watched key raises nothing); what was queued before
                # watch() runs on the watched connection. The watch ends below (UNWATCH).
                self._watch = watch
                try:
                    return [
                        self._immediate_execute(args, options_at.get(at, {}))
                        for at, args in enumerate(queued)
                    ]
                finally:
                    self._watch = None
            if watch is not None:
                return self._execute_transaction(
                    self._pairs(queued, options_at), raise_on_error, watch
                )
            if not queued:
                return []
            if self.transaction or self.explicit_transaction:
                return self._execute_transaction(self._pairs(queued, options_at), raise_on_error)
            return self._execute_pipeline(queued, options_at, raise_on_error)
        finally:
            self.reset()
            if watch is not None:
                # An argument that could not be converted leaves the engine's watch open (a
                # planning error ends it itself): end it (UNWATCH).
                try:
                    watch.unwatch()
                except RedisError:
                    watch.close()

    def _execute_pipeline(self, queued, options_at, raise_on_error):
        sent, flags = self._pipeline_sent(queued, options_at)
        replies = self._client._core_pipeline(sent, flags) if sent else []
        return self._pipeline_results(queued, options_at, replies, raise_on_error)

    def _pipeline_sent(self, queued, options_at):
        """The commands to send and their decode flags: all but those redis-py answers itself
        (``EMPTY_RESPONSE``: an MGET of no keys is ``[]``), which the engine would refuse as
        malformed before sending anything (as it does a transaction's)."""
        flags = self._pipeline_flags(queued, options_at)
        if not any(EMPTY_RESPONSE in options for options in options_at.values()):
            return queued, flags
        kept = [at for at in range(len(queued)) if EMPTY_RESPONSE not in options_at.get(at, ())]
        return [queued[at] for at in kept], [flags[at] for at in kept]

    def _pipeline_flags(self, queued, options_at):
        """Whether each queued command's reply is decoded."""
        client = self._client
        if client._decode and options_at:
            return [NEVER_DECODE not in options_at.get(at, ()) for at in range(len(queued))]
        return [client._decode] * len(queued)

    def _pipeline_results(self, queued, options_at, replies, raise_on_error):
        """The engine's replies (to the commands ``_pipeline_sent`` sent) shaped by redis-py's
        callbacks, the first error raised unless ``raise_on_error=False``."""
        unsent = ()
        if len(replies) < len(queued):
            unsent = {at for at, options in options_at.items() if EMPTY_RESPONSE in options}
            answered = iter(replies)
            replies = [None if at in unsent else next(answered) for at in range(len(queued))]
        client = self._client
        parse = client._parse
        get_options = options_at.get if options_at else None
        # One callback lookup per command name, not one per command: the lookup upper-cases
        # the name each time, a real share of a 10k-command pipeline.
        callbacks = {}
        results = []
        append = results.append
        failed = False
        for at, (reply, args) in enumerate(zip(replies, queued, strict=True)):
            options = get_options(at) if get_options else None
            if unsent and at in unsent:
                append(options[EMPTY_RESPONSE])
                continue
            if isinstance(reply, Exception):
                if options and isinstance(reply, ResponseError) and EMPTY_RESPONSE in options:
                    reply = options[EMPTY_RESPONSE]
                else:
                    failed = True
                append(reply)
                continue
            name = args[0]
            if options or type(name) is not str or type(reply) is dict:
                # `_parse` pops routing options: a copy keeps the queued command intact.
                append(parse(name, reply, dict(options) if options else {}))
                continue
            callback = callbacks.get(name, _NOT_LOOKED_UP)
            if callback is _NOT_LOOKED_UP:
                callback = callbacks[name] = client.response_callbacks.get(name)
            append(reply if callback is None else callback(reply))
        if failed and raise_on_error:
            self._raise_first_error(self._pairs(queued, options_at), results)
        return results

    def _execute_transaction(self, stack, raise_on_error, watch=None):
        """MULTI/EXEC of the queued commands: on the connection ``watch`` holds when there is
        one, else on their master (or one per master, when the config allows that)."""
        client = self._client
        commands, decode_flags = self._transaction_commands(stack)
        if watch is None:
            replies = client._core_transaction(commands, decode_flags)
        elif client._native:
            replies = watch.transaction(commands, decode_flags)
        else:
            encoded = [client._encoded(a) for a in commands]
            replies = client._decoded_replies(
                watch.transaction(encoded, [False] * len(commands)), decode_flags
            )
        return self._transaction_results(stack, replies, raise_on_error)

    def _transaction_commands(self, stack):
        """What MULTI/EXEC sends (a command answered by its EMPTY_RESPONSE option is not) and
        whether each reply is decoded."""
        sent = [(args, options) for args, options in stack if EMPTY_RESPONSE not in options]
        return [args for args, _ in sent], self._decode_flags(sent)

    def _transaction_results(self, stack, replies, raise_on_error):
        """EXEC's replies (``None``: a watched key changed) in the stack's order, shaped by
        redis-py's callbacks."""
        client = self._client
        if replies is None:
            raise WatchError("Watched variable changed.")
        replies = iter(replies)
        results = []
        for args, options in stack:
            if EMPTY_RESPONSE in options:
                results.append(options[EMPTY_RESPONSE])
                continue
            reply = next(replies)
            if not isinstance(reply, Exception):
                reply = client._parse(args[0], reply, dict(options))
            results.append(reply)
        if raise_on_error:
            self._raise_first_error(stack, results)
        return results

    def _decode_flags(self, stack):
        if not self._client._decode:
            return [False] * len(stack)
        return [NEVER_DECODE not in options for _, options in stack]

    @staticmethod
    def _raise_first_error(stack, results):
        for number, (reply, (args, _)) in enumerate(zip(results, stack, strict=True), 1):
            if isinstance(reply, Exception):
                if isinstance(reply, ResponseError):
                    command = truncate_text(" ".join(map(safe_str, args)))
                    reply.args = (
                        f"Command # {number} ({command}) of pipeline caused error: {reply.args[0]}",
                        *reply.args[1:],
                    )
                raise reply
