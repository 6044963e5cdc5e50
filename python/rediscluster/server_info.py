"""``info()``'s answer: every master's INFO, and one server's fields for code written for one.

A sharded client talks to several servers, so ``info()`` is a dict keyed by master name
(``{'node_1': {...}, 'node_2': {...}}``, as the seed answered). Libraries written for one server
read fields straight from it (rq: ``info('server')['redis_version']`` on every queue and
worker; others ``info()['used_memory']``), so a name that is not a master's answers that field
as the first master (``node_1``) reports it. One server's view, not a sum: ``used_memory`` then
stays comparable with that server's ``maxmemory``, and a version or a setting is the same on
every master anyway. A total is ``sum(node['used_memory'] for node in info.values())``.
"""

from __future__ import annotations

__all__ = ["ServerInfo"]


class ServerInfo(dict):
    """``{node_name: that master's INFO}`` that also answers a server field (``info['x']``,
    ``info.get('x')``, ``'x' in info``) as the first master answering INFO reports it."""

    __slots__ = ()

    def first_server(self):
        """The INFO of the first master (in node order) that answered one."""
        for reply in dict.values(self):
            if isinstance(reply, dict):
                return reply
        for reply in dict.values(self):
            if isinstance(reply, Exception):
                raise reply
        return {}

    def __missing__(self, name):
        return self.first_server()[name]

    def get(self, name, default=None):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return self.first_server().get(name, default)

    def __contains__(self, name):
        return dict.__contains__(self, name) or name in self.first_server()
