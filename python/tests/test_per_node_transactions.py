"""``"cross_node_transactions": "per_node"`` in the cluster config: a transaction pipeline over
keys on several masters runs one MULTI/EXEC per master (atomic per master, not across them),
replies in the caller's order, as rq's enqueue needs; the default still refuses."""

import pytest
from redis.exceptions import ExecAbortError, WatchError

import rediscluster
from rediscluster import ClusterConfigError, CrossNodeError


@pytest.fixture
def per_node(config):
    client = rediscluster.StrictRedisCluster(
        cluster=dict(config, cross_node_transactions="per_node"), mastersonly=True
    )
    yield client
    client.close()


def _rq_keys():
    # The names rq builds itself for one enqueue.
    return "rq:job:1a2b", "rq:queue:default", "rq:queues"


def test_rq_enqueue_pipeline_runs_one_transaction_per_master(per_node, r, master_clients):
    job, queue, queues = _rq_keys()
    assert len({next(iter(r.getnodefor(k))) for k in (job, queue, queues)}) > 1

    # The default refuses it, nothing sent.
    pipe = r.pipeline()
    pipe.hset(job, mapping={"status": "queued"}).rpush(queue, "1a2b").sadd(queues, queue)
    with pytest.raises(CrossNodeError):
        pipe.execute()
    assert r.exists(job, queue, queues) == 0

    for client in master_clients.values():
        client.config_resetstat()
    with per_node.pipeline() as pipe:
        pipe.hset(job, mapping={"status": "queued", "origin": "default"})
        pipe.rpush(queue, "1a2b")
        pipe.sadd(queues, queue)
        pipe.hget(job, "status")
        pipe.set(f"{queue}:flag", "x")  # redis-py's callback for SET: True
        assert pipe.execute() == [2, 1, 1, b"queued", True]
    execs = sum(
        int(client.info("commandstats").get("cmdstat_exec", {}).get("calls", 0))
        for client in master_clients.values()
    )
    masters = {next(iter(r.getnodefor(k))) for k in (job, queue, queues, f"{queue}:flag")}
    assert execs == len(masters), "one MULTI/EXEC per master"
    assert per_node.lrange(queue, 0, -1) == [b"1a2b"]


def test_rq_watch_then_multi_over_several_masters(per_node, r):
    job, queue, queues = _rq_keys()
    dependents = "rq:job:parent:dependents"
    per_node.sadd(dependents, "1a2b")

    def move_dependents(pipe):
        ids = pipe.smembers(dependents)  # immediate, on the watched connection
        pipe.multi()
        for job_id in sorted(ids):
            pipe.hset(f"rq:job:{job_id.decode()}", "status", "queued")
            pipe.rpush(queue, job_id)
        pipe.sadd(queues, queue)
        pipe.delete(dependents)

    assert per_node.transaction(move_dependents, dependents) == [1, 1, 1, 1]
    assert per_node.lrange(queue, 0, -1) == [b"1a2b"]

    # A write to the watched key between watch and exec: WatchError, nothing applied on any
    # master (the watched master's EXEC decides before the others run theirs).
    per_node.sadd(dependents, "3c4d")
    with per_node.pipeline() as pipe:
        pipe.watch(dependents)
        ids = pipe.smembers(dependents)
        r.sadd(dependents, "5e6f")  # another client
        pipe.multi()
        for job_id in ids:
            pipe.rpush(queue, job_id)
        pipe.sadd(queues, "rq:queue:other")
        with pytest.raises(WatchError):
            pipe.execute()
    assert per_node.lrange(queue, 0, -1) == [b"1a2b"]
    assert per_node.sismember(queues, "rq:queue:other") == 0


def test_a_command_one_master_refuses_applies_nothing(per_node, r, master_clients):
    job, queue, queues = _rq_keys()
    (node,) = r.getnodefor(queue)
    master_clients[node].config_set("maxmemory", 1)
    try:
        pipe = per_node.pipeline()
        pipe.hset(job, "status", "queued").rpush(queue, "1a2b").sadd(queues, queue)
        with pytest.raises(ExecAbortError):
            pipe.execute()
    finally:
        master_clients[node].config_set("maxmemory", 0)
    assert r.exists(job, queue, queues) == 0


def test_the_option_is_validated_with_the_config(config):
    with pytest.raises(ClusterConfigError, match="not across masters"):
        rediscluster.StrictRedisCluster(cluster=dict(config, cross_node_transactions="yes"))
