"""The online window from Python: with `previous` (the masters before a reshard) in the config,
a read that misses on the key's new master is answered by its old master; writes go to the new
one, moving the key there first."""

import rediscluster


def test_reads_fall_back_to_the_old_master_and_writes_go_to_the_new_one(dev_cluster, config):
    nodes = config["nodes"]
    old = {"nodes": {"node_1": nodes["node_1"], "node_2": nodes["node_2"]}}
    before = rediscluster.StrictRedisCluster(cluster=old, mastersonly=True)
    window = rediscluster.StrictRedisCluster(
        cluster={"nodes": nodes, "previous": old}, mastersonly=True
    )
    keys = [f"k{i}" for i in range(60)]
    moving = [k for k in keys if before.getnodefor(k) != window.getnodefor(k)]
    assert moving, "some keys change node from 2 to 3 masters"
    for key in keys:
        before.set(key, f"old {key}")
    # Not resharded yet: every key is found through the window, one by one and by MGET.
    assert [window.get(k) for k in keys] == [f"old {k}".encode() for k in keys]
    assert window.mget(keys) == [f"old {k}".encode() for k in keys]
    # A write goes to the new master and is what the window reads from then on; the key left
    # its old master first, and a write that depends on the value acts on the old one.
    window.set(moving[0], "new")
    assert window.get(moving[0]) == b"new"
    assert before.get(moving[0]) is None, "no old copy left behind"
    assert window.append(moving[1], "+") == len(f"old {moving[1]}+")
    assert before.get(moving[1]) is None
    # Without `previous`, the moved-to node alone: the old keys are not there.
    plain = rediscluster.StrictRedisCluster(cluster={"nodes": nodes}, mastersonly=True)
    assert len(moving) > 2, "a third key that moves"
    assert plain.get(moving[2]) is None


def test_pipelines_and_transactions_read_through_the_window(dev_cluster, config):
    nodes = config["nodes"]
    old = {"nodes": {"node_1": nodes["node_1"], "node_2": nodes["node_2"]}}
    before = rediscluster.StrictRedisCluster(cluster=old, mastersonly=True)
    window = rediscluster.StrictRedisCluster(
        cluster={"nodes": nodes, "previous": old}, mastersonly=True
    )

    def moves(name):
        return before.getnodefor(name) != window.getnodefor(name)

    moving = [k for k in (f"p{i}" for i in range(200)) if moves(k)][:10]
    for key in moving:
        before.set(key, f"old {key}")
    before.rpush(f"{moving[0]}:list", "a", "b")
    # The case: a pipeline of GETs answered [None] for keys not moved yet.
    pipe = window.pipeline(transaction=False)
    for key in moving:
        pipe.get(key)
    assert pipe.execute() == [f"old {k}".encode() for k in moving]
    pipe = window.pipeline(transaction=False)
    pipe.lrange(f"{moving[0]}:list", 0, -1).mget(moving[:3]).exists(*moving[:3])
    assert pipe.execute() == [[b"a", b"b"], [f"old {k}".encode() for k in moving[:3]], 3]
    # A transaction runs on one master: keys that share a tag that moves.
    tag = next(t for t in (f"t{i}" for i in range(200)) if moves(t))
    tagged = [f"a{{{tag}}}", f"b{{{tag}}}"]
    for key in tagged:
        before.set(key, f"old {key}")
    pipe = window.pipeline(transaction=True)
    pipe.get(tagged[0]).set(tagged[1], "new").get(tagged[1])
    assert pipe.execute() == [f"old {tagged[0]}".encode(), True, b"new"]
