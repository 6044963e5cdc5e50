"""Awaiting the engine: a future per call, settled on the event loop when the engine's threads
are done.

The engine runs each call on one of a few threads of its own (``_core.AsyncCore``), never on
the loop's thread and never one thread per call. Its outcomes wait in a queue; a pipe the loop
watches (``loop.add_reader``) becomes readable when the first one arrives, and ``_drain``,
run by the loop, converts a bounded batch to Python objects and settles their futures. A
bounded batch keeps the loop's other callbacks (timers, sockets, other tasks) from waiting
behind thousands of replies.

A client is used from one event loop at a time, as redis.asyncio's: the pipe follows the loop
of the latest call (pytest-asyncio and ``asyncio.run`` make a loop per test or per run).

The loop holds the bridge weakly, and watches its own duplicate of the pipe: a client dropped
without ``aclose()`` frees its engine (whose threads then end) instead of living as long as the
loop, and the engine's pipe closing makes the duplicate readable (end of file), so the loop
itself unwatches and closes it, on its own thread, before the descriptor could be reused.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import weakref

from redis.exceptions import ConnectionError

__all__ = ["EngineBridge"]

# Outcomes converted per wake-up of the loop: large enough to amortise the wake-up, small
# enough that a timer due meanwhile runs within a millisecond or so.
_BATCH = 32


class EngineBridge:
    """Submits calls to an ``AsyncCore`` and settles their futures on the loop."""

    __slots__ = (
        "engine",
        "_pipe",
        "_futures",
        "_streams",
        "_next_ticket",
        "_loop",
        "_closed",
        "__weakref__",
    )

    def __init__(self, engine):
        self.engine = engine
        self._pipe = _Pipe(engine.fileno())
        self._futures = {}
        # Tickets under which the engine posts many outcomes (a pub/sub's wake-ups).
        self._streams = {}
        self._next_ticket = itertools.count(1).__next__
        self._loop = None
        self._closed = False

    async def call(self, method, *args):
        """``method(ticket, *args)`` queues the call; its outcome is returned (or raised).
        Cancelling the awaiting task ends a blocking command on the server side too (its
        connection is closed, as redis.asyncio does); an ordinary call runs to its end and its
        reply is dropped."""
        ticket, future = self.submit(method, *args)
        try:
            return await future
        except asyncio.CancelledError:
            self.cancelled(ticket)
            raise

    def submit(self, method, *args):
        """``call`` without its coroutine, for the hottest path (``execute_command`` awaits the
        future itself, one object less per command for the garbage collector): the ticket
        and the future. Whoever awaits the future calls ``cancelled(ticket)`` when cancelled."""
        if self._closed:
            raise ConnectionError("this engine bridge was closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._follow(loop)
        ticket = self._next_ticket()
        future = loop.create_future()
        method(ticket, *args)
        # Registered after the engine took the call: its outcome is only ever read by
        # `_drain`, on this loop's thread, which is busy here.
        self._futures[ticket] = future
        return ticket, future

    def cancelled(self, ticket):
        """The call's awaiting task was cancelled: its outcome has nowhere to go, and a
        blocking command is ended on the server."""
        self._futures.pop(ticket, None)
        self.engine.cancel(ticket)

    def attach(self):
        """Makes the running loop watch the engine's pipe (a call does this itself)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._follow(loop)

    def stream(self, callback):
        """A ticket whose outcomes, however many, go to ``callback(value, failed)`` on the loop."""
        ticket = self._next_ticket()
        self._streams[ticket] = callback
        return ticket

    def end_stream(self, ticket):
        self._streams.pop(ticket, None)
        if self._closed and not self._futures and not self._streams:
            self._unwatch()

    def _follow(self, loop):
        """Watches the engine's pipe from ``loop`` instead of the previous loop."""
        previous, self._loop = self._loop, None
        if previous is not None and not previous.is_closed():
            previous.remove_reader(self._pipe.fd)
        loop.add_reader(self._pipe.fd, _drain_if_alive, weakref.ref(self), self._pipe, loop)
        self._loop = loop

    def _drain(self):
        futures = self._futures
        for ticket, value, failed in self.engine.drain(_BATCH):
            future = futures.pop(ticket, None)
            if future is None:
                stream = self._streams.get(ticket)
                if stream is not None:
                    stream(value, failed)
                # Else cancelled meanwhile: the reply has nobody to go to.
                continue
            if future.done():
                continue
            loop = future.get_loop()
            if loop is self._loop:
                _settle(future, value, failed)
            elif not loop.is_closed():
                # A call made from a loop the client has since left: settled on its own loop.
                loop.call_soon_threadsafe(_settle, future, value, failed)
        if self._closed and not futures and not self._streams:
            self._unwatch()

    def close(self):
        """No more calls: the engine's threads end once the queued calls ran (blocking ones
        are ended); the calls still awaited get their outcomes, and a pub/sub waiting for a
        wake-up gets it (it then moves to the client's next bridge), then the pipe is
        unwatched."""
        self._closed = True
        self.engine.close()
        if not self._futures and not self._streams:
            self._unwatch()

    def _unwatch(self):
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._pipe.fd)


class _Pipe:
    """The loop's own duplicate of the engine's pipe (see the module's comment)."""

    __slots__ = ("fd",)

    def __init__(self, fd):
        self.fd = os.dup(fd)

    def close(self):
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self):
        self.close()


def _drain_if_alive(bridge_ref, pipe, loop):
    bridge = bridge_ref()
    if bridge is not None:
        bridge._drain()
        return
    # The client and its engine are gone: the engine's pipe closed, and this end reads EOF.
    loop.remove_reader(pipe.fd)
    pipe.close()


def _settle(future, value, failed):
    if future.done():
        return
    if failed:
        future.set_exception(value)
    else:
        future.set_result(value)
