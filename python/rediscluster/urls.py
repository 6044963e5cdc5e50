"""``StrictRedisCluster.from_url``: redis-py's URL with one or several hosts.

``redis://[[user]:password@]host1:port1[,host2:port2...][/db][?option=value...]``: the masters
are the hosts in order (``node_1``, ``node_2``, ...); ``rediss://`` is TLS. Each host is parsed
by redis-py's own ``parse_url``, so credentials, the db and the query options mean what they
mean for ``redis.Redis.from_url``.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from redis.connection import SSLConnection, parse_url

from .exceptions import ClusterConfigError

__all__ = ["cluster_from_url"]


def cluster_from_url(url, kwargs):
    """``(cluster, options)``: the cluster dict of ``url``'s hosts and the client options (the
    URL's options win over ``kwargs``, as in redis-py)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ClusterConfigError(
            f"StrictRedisCluster.from_url takes redis:// or rediss:// URLs (nodes are host:port "
            f"addresses), got scheme {parts.scheme!r}"
        )
    credentials, _, hosts = parts.netloc.rpartition("@")
    if not hosts:
        raise ClusterConfigError("StrictRedisCluster.from_url: the URL names no host")
    nodes = {}
    options = dict(kwargs)
    for index, host in enumerate(hosts.split(",")):
        netloc = f"{credentials}@{host}" if credentials else host
        one = parse_url(urlunsplit(parts._replace(netloc=netloc)))
        nodes[f"node_{index + 1}"] = {
            "host": one.pop("host", "localhost"),
            "port": one.pop("port", 6379),
        }
        if index == 0:
            if one.pop("connection_class", None) is SSLConnection:
                one["ssl"] = True
            options.update(one)
    return {"nodes": nodes}, options
