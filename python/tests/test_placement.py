"""The placement contract from Python: every golden vector of tests/vectors/placement.json, through
``getnodefor`` and through the master that physically holds the key after a write."""

import base64
import json

import pytest

from conftest import ROOT
from rediscluster import _core

VECTORS = json.loads((ROOT / "tests" / "vectors" / "placement.json").read_text())
ROWS = VECTORS["vectors"] if isinstance(VECTORS, dict) else VECTORS


def key_of(row):
    """The key as a Python user would pass it: an int, a str, or bytes."""
    if row.get("int") is not None:
        return row["int"]
    if row.get("key") is not None:
        return row["key"]
    return base64.b64decode(row["key_b64"])


def test_there_are_vectors_of_every_kind():
    kinds = {row["kind"] for row in ROWS}
    assert {"seed", "ascii", "utf8", "binary", "integer", "tag", "edge"} <= kinds
    assert len(ROWS) > 800


def test_every_vector_for_every_cluster_size():
    for row in ROWS:
        key = key_of(row)
        for masters, node in enumerate(row["nodes"], start=1):
            # `nodes[N-1]` is the 1-based node number among N masters.
            assert _core.node_index(key, masters) + 1 == node, (row["key_b64"], masters)


def test_getnodefor_and_the_server_that_holds_each_key(r, master_clients):
    ports = {
        name: client.connection_pool.connection_kwargs["port"]
        for name, client in master_clients.items()
    }
    for row in ROWS:
        key = key_of(row)
        expected = f"node_{row['nodes'][2]}"  # three masters
        assert r.getnodefor(key) == {expected: {"host": "127.0.0.1", "port": ports[expected]}}
    # Written through the cluster, each key is stored (under its stored name) on that master
    # and nowhere else.
    pipe = r.pipeline(transaction=False)
    for row in ROWS:
        pipe.set(key_of(row), row["kind"])
    assert all(pipe.execute())
    for row in ROWS:
        stored = base64.b64decode(row["stored_b64"])
        holders = [name for name, client in master_clients.items() if client.exists(stored)]
        assert f"node_{row['nodes'][2]}" in holders, row["key_b64"]


@pytest.mark.parametrize(
    ("key", "route"),
    [("bar{foo}", "foo"), ("{b}", "{b}"), ("a{}", "a{}"), ("a{b}c", "a{b}c"), ("x{y}{z}", "z")],
)
def test_tags_follow_the_contract(r, key, route):
    assert r.getnodefor(key) == r.getnodefor(route)
