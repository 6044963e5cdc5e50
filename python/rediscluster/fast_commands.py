"""Shortcuts for the commonest calls, ahead of redis-py's own command methods.

redis-py 8's ``set`` checks its thirteen options through a decorator and two validation
helpers on every call: about 9 µs of Python before anything is sent, which is most of what a
10k-command pipeline costs once the engine does the rest. A call that gives no option at all
builds exactly the command redis-py would (``SET name value``, no execute options), so it goes
straight to ``execute_command``; any option, even one given as its default, takes redis-py's
own method, unchanged.
"""

from __future__ import annotations

import functools

from redis.commands import CoreCommands

__all__ = ["FastCommands"]


class FastCommands:
    """Mixed in before ``CoreCommands`` by the client and its pipeline."""

    @functools.wraps(CoreCommands.set)
    def set(self, name, value, *args, **kwargs):
        if args or kwargs:
            return CoreCommands.set(self, name, value, *args, **kwargs)
        return self.execute_command("SET", name, value)
