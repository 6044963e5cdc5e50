"""``register_script``: redis-py's ``Script``, loaded on the master that runs it.

A script runs where its keys are (EVALSHA is routed like any keyed command; no key: ``node_1``).
On NOSCRIPT the script is loaded where it runs (that master only: ``SCRIPT LOAD`` from the client
would go to every master, and fail if any one is down) and EVALSHA runs again. Keys on several
masters are refused before anything is sent; the error then names each key with its master and
the ways out. A script without keys, when the cluster config says ``"keyless_scripts":
"every_master"``, runs on every master as EVAL with its body: a master that lost it (a restart,
SCRIPT FLUSH) runs it like the others, where EVALSHA would fail there after it ran elsewhere.
"""

from __future__ import annotations

from redis.commands.core import Script
from redis.exceptions import NoScriptError

from .exceptions import CrossNodeError
from .pipeline import ClusterPipeline

__all__ = ["ClusterScript"]

_WAYS_OUT = (
    "a script runs on one server, so its keys must share a master: give them one hash tag "
    "(name{tag}: routed by the tag), or place them together with a routing rule in the cluster "
    "config; per-node transactions do not apply to scripts"
)


class ClusterScript(Script):
    """An executable Lua script returned by ``StrictRedisCluster.register_script``."""

    def __call__(self, keys=None, args=None, client=None):
        keys = list(keys or ())
        args = tuple(keys) + tuple(args or ())
        if client is None:
            client = self.registered_client
        # A cluster pipeline runs the queued EVALSHA later: load the script on the master of
        # its keys now (its own client), as redis-py's pipeline loads its scripts first.
        queued = isinstance(client, ClusterPipeline)
        runner = getattr(client, "_client", self.registered_client) if queued else client
        if not keys and _keyless_runs_everywhere(runner):
            return client.eval(self.script, 0, *args)
        if queued:
            nodes = {_node_of(runner, key) for key in keys}
            if len(nodes) > 1:
                raise CrossNodeError(self._spread(runner, keys))
            self._load_on(runner, keys)
            return client.evalsha(self.sha, len(keys), *args)
        try:
            try:
                return client.evalsha(self.sha, len(keys), *args)
            except NoScriptError:
                self._load_on(runner, keys)
                return client.evalsha(self.sha, len(keys), *args)
        except CrossNodeError:
            raise CrossNodeError(self._spread(runner, keys)) from None

    def _load_on(self, client, keys):
        node = _node_of(client, keys[0]) if keys else next(iter(client.nodes))
        self.sha = client.execute_on(node, "SCRIPT", "LOAD", self.script)
        if isinstance(self.sha, bytes):
            self.sha = self.sha.decode()

    def _spread(self, client, keys):
        placed = ", ".join(f"{key!r} on {_node_of(client, key)}" for key in keys)
        return f"EVALSHA of a registered script: keys {placed}: {_WAYS_OUT}"


def _node_of(client, key):
    return next(iter(client.getnodefor(key)))


def _keyless_runs_everywhere(client):
    config = client.connection_pool._cluster_config
    return config.get("keyless_scripts") == "every_master"
