"""The conformance harness's client factory for our client on a Redis Cluster
(``make conformance-redis-cluster``): ``StrictRedisCluster`` with
``{'redis_cluster': {'nodes': [...]}}`` over the harness's masters, which are a Redis Cluster
started by ``tests/cluster.sh`` (``CLUSTER_KIND=redis_cluster``) instead of the harness's own
servers. As with the harness's ``rediscluster_candidate``, ``kwargs`` are what redis-py's
tests pass to their client helper; a ``db`` other than 0 is refused by the client (a Redis
Cluster has only database 0), which is a conformance result like any other.
"""

import conformance_factories


def redis_cluster_candidate(decode_responses=False, **kwargs):
    import rediscluster

    topology = conformance_factories.topology()
    nodes = [f"{host}:{port}" for host, port in topology["masters"]]
    db = kwargs.pop("db", topology["db"])
    kwargs.setdefault("mastersonly", True)
    return rediscluster.StrictRedisCluster(
        cluster={"redis_cluster": {"nodes": nodes}},
        db=db,
        decode_responses=decode_responses,
        **kwargs,
    )
