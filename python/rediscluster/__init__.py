"""rediscluster: client-side sharding over independent Redis masters.

Keys are placed by ``crc32(key) % N`` (``name{tag}`` by ``tag``), byte for byte as the Rust
crate and the PHP extension place them; the commands are redis-py's, on a Rust engine.

>>> import rediscluster
>>> r = rediscluster.StrictRedisCluster(cluster={'nodes': {
...     'node_1': {'host': '127.0.0.1', 'port': 7000},
...     'node_2': {'host': '127.0.0.1', 'port': 7001}}})
>>> r.set('foo', 'bar')            # doctest: +SKIP
True
"""

from importlib.metadata import PackageNotFoundError, version

from .client import RedisCluster, StrictRedisCluster
from .exceptions import (
    ClusterConfigError,
    CommandNotSupportedError,
    CrossNodeError,
    PartialConnectionError,
    PartialWriteError,
)
from .pipeline import ClusterPipeline
from .pubsub import ClusterPubSub

try:
    __version__ = version("rediscluster")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "StrictRedisCluster",
    "RedisCluster",
    "ClusterPipeline",
    "ClusterPubSub",
    "ClusterConfigError",
    "CommandNotSupportedError",
    "CrossNodeError",
    "PartialWriteError",
    "PartialConnectionError",
]
