"""rediscluster for asyncio: redis.asyncio's API over the same engine, placement and options
as ``rediscluster.StrictRedisCluster``.

>>> from rediscluster.asyncio import StrictRedisCluster
>>> r = StrictRedisCluster(cluster={'nodes': {'node_1': {'host': '127.0.0.1', 'port': 7000}}})
>>> await r.set('foo', 'bar')      # doctest: +SKIP
True
"""

from .client import RedisCluster, StrictRedisCluster
from .pipeline import ClusterPipeline

__all__ = ["StrictRedisCluster", "RedisCluster", "ClusterPipeline"]
