"""The cluster's own exceptions. Everything else a command can raise is redis-py's
(``ConnectionError``, ``TimeoutError``, ``ResponseError``, ``DataError``, ...)."""

from redis.exceptions import (
    ClusterCrossSlotError,
    ConnectionError,
    RedisError,
    ResponseError,
)

__all__ = [
    "ClusterConfigError",
    "CrossNodeError",
    "CommandNotSupportedError",
    "PartialWriteError",
    "PartialConnectionError",
]


class ClusterConfigError(ValueError):
    """The cluster configuration is invalid; nothing was connected."""


class CrossNodeError(ClusterCrossSlotError):
    """A command whose keys must share one node got keys on several nodes (give them a
    common hash tag, ``name{tag}``). Nothing was sent. Like Redis Cluster's CROSSSLOT."""

    def __init__(self, message):
        # ClusterCrossSlotError carries a fixed text; keep ours, which names the nodes.
        ResponseError.__init__(self, message)
        self.message = message

    def __str__(self):
        return self.message


class CommandNotSupportedError(ResponseError):
    """A command the cluster never runs (SELECT, WATCH, SHUTDOWN, ...): the message says why
    and what to do instead. Nothing was sent."""


class PartialWriteError(RedisError):
    """A write split over several masters (MSET, DEL, ...) failed on some of them after
    others applied their part: across nodes nothing is atomic.

    ``errors`` holds the failure of each failed node, ``applied`` the nodes that applied
    their part."""

    def __init__(self, message, errors=(), applied=()):
        super().__init__(message)
        self.errors = list(errors)
        self.applied = list(applied)


class PartialConnectionError(PartialWriteError, ConnectionError):
    """A ``PartialWriteError`` where a node could not be reached (also a ConnectionError)."""
