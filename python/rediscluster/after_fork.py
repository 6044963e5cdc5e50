"""Clients and pub/subs carried into a forked child never use the parent's connections.

After ``os.fork()`` (``multiprocessing``, gunicorn and Celery workers, ...) the child holds a
copy of every client and with it the parent's open sockets: parent and child would write to
the same connections and read each other's replies. redis-py's pools check the pid on every
checkout; here a fork hook tells each live client and pub/sub, once, in the child only:

* a client's engine becomes a stand-in, and the child's first call builds a new engine from
  the same config and connection settings (``Core.reopen_after_fork``); the hook itself does
  no I/O, and nothing changes in the parent or on the hot path;
* a pub/sub (its subscriptions live on the parent's connections) is closed for the child,
  and its use says to create a new one there. Neither is ever dropped in the child: dropping
  would shut the parent's sockets down.
"""

from __future__ import annotations

import os
import threading
import weakref

__all__ = ["track", "EngineAfterFork"]

_tracked = weakref.WeakSet()


def track(owner):
    """Registers an object whose ``_after_fork_in_child()`` runs in a forked child."""
    _tracked.add(owner)


class EngineAfterFork:
    """A child's stand-in for a client's engine inherited from the parent, until first use."""

    def __init__(self, client, inherited):
        self._client = weakref.ref(client)
        self._inherited = inherited
        self._lock = threading.Lock()
        self._engine = None

    def __getattr__(self, name):
        return getattr(self.engine(), name)

    def engine(self):
        """The child's own engine, made at the first use."""
        with self._lock:
            if self._engine is None:
                self._engine = self._inherited.reopen_after_fork()
                client = self._client()
                if client is not None:
                    client._core = self._engine
        return self._engine

    def __repr__(self):
        return repr(self._inherited)


def _in_child():
    for owner in list(_tracked):
        owner._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)
