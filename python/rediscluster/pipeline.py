"""``ClusterPipeline``: redis-py's pipeline API over the engine's per-master batches."""

from __future__ import annotations

from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.commands import CoreCommands, RedisModuleCommands
from redis.exceptions import RedisError, ResponseError, WatchError
from redis.utils import safe_str, truncate_text

from .exceptions import CommandNotSupportedError
from .fast_commands import FastCommands

__all__ = ["ClusterPipeline"]

_NOT_LOOKED_UP = object()


class ClusterPipeline(FastCommands, RedisModuleCommands, CoreCommands):
    """Queues commands and runs them with ``execute()``.

    Without a transaction, consecutive commands are sent to their masters in one batch per
    master and answered in order (a command over several nodes runs at its place). With
    ``transaction=True`` the commands run in MULTI/EXEC on the one master that owns all
    their keys (hash tags); keys on several masters are refused before anything is sent.
    """

    def __init__(self, client, transaction=True):
        self._client = client
        self.transaction = transaction
        self.response_callbacks = client.response_callbacks
        self.command_stack = []
        self.explicit_transaction = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.reset()

    def __len__(self):
        return len(self.command_stack)

    def __bool__(self):
        return True

    def reset(self):
        self.command_stack = []
        self.explicit_transaction = False

    close = reset

    def multi(self):
        """Starts the transaction block explicitly (as redis-py, before any command)."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self.command_stack:
            raise RedisError("Commands without an initial WATCH have already been issued")
        self.explicit_transaction = True

    def watch(self, *names):
        raise CommandNotSupportedError(
            "WATCH is not supported by rediscluster: a pooled, sharded client has no pinned "
            "connection to watch on; use a transaction whose keys share a hash tag"
        )

    def unwatch(self):
        return True

    def execute_command(self, *args, **options):
        self.command_stack.append((args, options))
        return self

    pipeline_execute_command = execute_command

    def get_encoder(self):
        return self._client.get_encoder()

    def get_connection_kwargs(self):
        return self._client.get_connection_kwargs()

    def execute(self, raise_on_error=True):
        """Runs the queued commands and returns their replies in order. An error reply is
        raised (the first one, naming its command) unless ``raise_on_error=False``, which
        leaves each error in its place."""
        stack = self.command_stack
        self.reset()
        if not stack:
            return []
        if self.transaction or self.explicit_transaction:
            return self._execute_transaction(stack, raise_on_error)
        return self._execute_pipeline(stack, raise_on_error)

    def _execute_pipeline(self, stack, raise_on_error):
        client = self._client
        replies = client._core_pipeline([args for args, _ in stack], self._decode_flags(stack))
        parse = client._parse
        # One callback lookup per command name, not one per command: the lookup upper-cases
        # the name each time, a real share of a 10k-command pipeline.
        callbacks = {}
        results = []
        append = results.append
        failed = False
        for reply, (args, options) in zip(replies, stack, strict=True):
            if isinstance(reply, Exception):
                if isinstance(reply, ResponseError) and EMPTY_RESPONSE in options:
                    reply = options[EMPTY_RESPONSE]
                else:
                    failed = True
                append(reply)
                continue
            name = args[0]
            if options or type(name) is not str or type(reply) is dict:
                # `_parse` pops routing options: a copy keeps the queued command intact.
                append(parse(name, reply, dict(options) if options else options))
                continue
            callback = callbacks.get(name, _NOT_LOOKED_UP)
            if callback is _NOT_LOOKED_UP:
                callback = callbacks[name] = client.response_callbacks.get(name)
            append(reply if callback is None else callback(reply))
        if failed and raise_on_error:
            self._raise_first_error(stack, results)
        return results

    def _execute_transaction(self, stack, raise_on_error):
        client = self._client
        sent = [(args, options) for args, options in stack if EMPTY_RESPONSE not in options]
        replies = client._core_transaction([args for args, _ in sent], self._decode_flags(sent))
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
