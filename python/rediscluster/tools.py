"""The migration tools from Python, on the Rust engine (not a Python rewrite).

``main()`` is the ``rediscluster`` console script (``rediscluster copy --from ... --to ...``,
see ``rediscluster --help``); ``copy``, ``plan``, ``grow`` and ``reshard`` are the same jobs
as functions that return their summary. A cluster is given as a config dict (the seed's
shape), a path to a JSON/TOML file, or comma-separated ``redis://`` URLs.
"""

from __future__ import annotations

import json
import os
import sys

from . import _core

__all__ = ["main", "copy", "grow", "plan", "reshard"]


def _spec(cluster):
    if isinstance(cluster, dict):
        return json.dumps(cluster)
    if isinstance(cluster, (str, os.PathLike)):
        return os.fspath(cluster)
    raise TypeError(f"a cluster is a config dict, a file path or redis:// URLs, not {cluster!r}")


def main(argv=None):
    """The ``rediscluster`` command line; exits with its status."""
    args = ["rediscluster", *(sys.argv[1:] if argv is None else argv)]
    sys.stdout.flush()
    raise SystemExit(_core.run_tool(args))


def copy(
    source,
    destination,
    *,
    match=None,
    batch=1000,
    state=None,
    verify=False,
    tag_rule=None,
    route_untagged_by_name=False,
    rate=None,
):
    """Copies every key of ``source`` (one server or a cluster) into ``destination``, placed by
    the contract; resumable with ``state`` (a file path). Into a Redis Cluster, ``tag_rule``
    puts back the hash tags a client stripped and ``route_untagged_by_name`` copies the keys
    whose name cannot be recovered under their stored name (else they are counted and left
    out; see the README); ``rate`` caps the keys copied per second. Returns ``{'copy': {...},
    'verify': {...} or None}``: keys copied, keys expired meanwhile, keys/s, differences."""
    return json.loads(
        _core.tool_copy(
            _spec(source),
            _spec(destination),
            match,
            batch,
            None if state is None else os.fspath(state),
            verify,
            tag_rule,
            route_untagged_by_name,
            rate,
        )
    )


def reshard(
    source,
    destination,
    *,
    tag_rule=None,
    route_untagged_by_name=False,
    batch=1000,
    state=None,
    dry_run=False,
    rate=None,
):
    """Moves every key whose node changes from the ``source`` cluster's masters to the
    ``destination``'s (see the README: hash tags, ``tag_rule``); into a Redis Cluster, every
    key, under the name the clients write (``tag_rule`` puts stripped tags back). ``rate`` caps
    the keys moved per second (a live move leaves the servers room). Returns the
    summary: keys moved, stayed, unplaceable (left in place), newer on their new node."""
    return json.loads(
        _core.tool_reshard(
            _spec(source),
            _spec(destination),
            tag_rule,
            route_untagged_by_name,
            batch,
            None if state is None else os.fspath(state),
            dry_run,
            rate,
        )
    )


def plan(
    source, destination, *, sample=None, random=None, tag_rule=None, route_untagged_by_name=False
):
    """What ``reshard`` from ``source`` to ``destination`` would move: per server (by address)
    the keys it holds, keeps, loses, gains and holds after, and the fraction of keys moving.
    From a SCAN of every old master (``sample`` keys of each when given, scaled to its DBSIZE),
    or, with ``random=N``, from N random keys without touching a server."""
    return json.loads(
        _core.tool_plan(
            _spec(source), _spec(destination), sample, random, tag_rule, route_untagged_by_name
        )
    )


def grow(cluster, add):
    """The ``elastic`` config ``cluster`` with the masters ``add`` (``"host:port"`` each) added,
    each taking an even share of slots from the masters that own the most: the config to
    ``plan`` and ``reshard`` to (with the old masters as ``previous`` in the clients meanwhile)."""
    return json.loads(_core.tool_grow(_spec(cluster), list(add)))
