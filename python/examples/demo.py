"""The Python half of `make demo`: the keys the Rust demo placed, written again from Python.

Usage: python python/examples/demo.py CLUSTER.json PLACEMENTS.json

For every key: the node Python computes (``getnodefor``), the node Rust computed, and the master
that really holds the key's stored name after Python wrote it, asked directly. They must agree.
"""

import json
import sys

import redis

import rediscluster


def main(cluster_path, placements_path):
    with open(cluster_path) as file:
        cluster = json.load(file)
    with open(placements_path) as file:
        placements = json.load(file)
    r = rediscluster.StrictRedisCluster(cluster=cluster, mastersonly=True)
    direct = {
        name: redis.Redis(host=node["host"], port=node["port"], socket_timeout=2)
        for name, node in r.nodes.items()
    }
    print(f"{'key':<22} {'stored as':<20} {'rust':<7} {'python':<7} {'held by':<8} agree")
    disagreements = 0
    for placement in placements:
        key, stored = placement["key"], placement["stored"]
        value = f"python wrote {key}"
        r.set(key, value)
        (python_node,) = r.getnodefor(key)
        holders = [name for name, master in direct.items() if master.get(stored) == value.encode()]
        agree = placement["node"] == python_node and holders == [python_node]
        disagreements += not agree
        print(
            f"{key!r:<22} {stored!r:<20} {placement['node']:<7} {python_node:<7} "
            f"{','.join(holders) or '-':<8} {'yes' if agree else 'NO'}"
        )
    print(f"mget from Python: {r.mget(['bar{foo}', 'foo'])}")
    deleted = r.delete(*[p["key"] for p in placements])
    print(f"DEL of all {len(placements)} keys from Python = {deleted}")
    if disagreements:
        sys.exit(f"{disagreements} keys disagree between Rust and Python")
    print("Rust and Python place every key on the same master, under the same stored name")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    main(sys.argv[1], sys.argv[2])
