"""The compatible distributions from Python: for every case of tests/vectors/distributions.json
(recorded by running phpredis's RedisArray, Predis and twemproxy against real servers), getnodefor
names the node the peer itself put the key on, by configuration alone; and the elastic placement's
options are validated before anything connects."""

import base64
import json
import re

import pytest

import rediscluster
from conftest import ROOT

RECORDED = json.loads((ROOT / "tests" / "vectors" / "distributions.json").read_text())
KEYS = [base64.b64decode(k) for k in RECORDED["keys_b64"]]


def test_the_file_covers_every_peer_and_kind_of_key():
    assert len(KEYS) >= 10_000
    assert {"ascii", "utf8", "binary", "integer", "tag"} <= set(RECORDED["kinds"])
    assert {case["peer"] for case in RECORDED["cases"]} == {"redisarray", "predis", "twemproxy"}


@pytest.mark.parametrize("case", RECORDED["cases"], ids=[c["name"] for c in RECORDED["cases"]])
def test_every_key_lands_where_the_peer_put_it(case):
    client = rediscluster.StrictRedisCluster(cluster=case["config"])
    wrong = [
        (key, node)
        for key, node in zip(KEYS, case["nodes"], strict=True)
        if list(client.getnodefor(key)) != [f"node_{node}"]
    ]
    assert not wrong, f"{len(wrong)} keys elsewhere, e.g. {wrong[0]}"
    client.close()


def nodes(count, **extra):
    return {
        f"node_{i}": {"host": "127.0.0.1", "port": 7001 + i, **extra.get(f"node_{i}", {})}
        for i in range(1, count + 1)
    }


@pytest.mark.parametrize(
    "config, message",
    [
        ({"distribution": "ketama"}, "unknown distribution 'ketama'"),
        ({"distribution": {"name": "twemproxy", "hash": "sha1"}}, "unknown hash 'sha1'"),
        ({"distribution": {"name": "twemproxy", "hash_tag": "{"}}, "two characters"),
        ({"distribution": {"name": "redisarray", "hash": "md5"}}, "has no option 'hash'"),
        ({"distribution": "predis", "tags": "keep"}, "its own tag rule"),
        ({"nodes": nodes(2, node_1={"weight": 2})}, "no use for it"),
        ({"distribution": "predis", "nodes": nodes(2, node_1={"weight": 0})}, "1..10000"),
        (
            {
                "distribution": "elastic",
                "nodes": nodes(2, node_1={"slots": "0-100"}, node_2={"slots": "100-16383"}),
            },
            "slot 100 is assigned twice",
        ),
        (
            {
                "distribution": "elastic",
                "nodes": nodes(2, node_1={"slots": "0-100"}, node_2={"slots": "102-16383"}),
            },
            "slot 101 is not assigned",
        ),
        ({"distribution": "elastic", "nodes": nodes(2, node_1={"slots": "9-x"})}, "not a slot"),
        (
            {
                "distribution": "elastic",
                "previous": {"nodes": nodes(1), "distribution": "redisarray"},
            },
            "cannot rename keys",
        ),
        ({"distribution": "elastic", "previous": {"nodes": nodes(1)}}, "name the 'distribution'"),
        ({"previous": {"nodes": nodes(1), "tags": "keep"}}, "'tags' only with"),
        (
            {
                "distribution": {"name": "redisarray", "consistent": True},
                "nodes": nodes(2, node_1={"ring_name": "h" * 61}),
            },
            "longer than the 60 bytes",
        ),
    ],
)
def test_bad_distribution_options_are_refused_before_connecting(config, message):
    with pytest.raises(rediscluster.ClusterConfigError, match=re.escape(message)):
        rediscluster.StrictRedisCluster(cluster={"nodes": nodes(2), **config})


def test_a_window_from_kept_tags_to_a_compatible_distribution():
    # crc32 with tags kept stores full names, as RedisArray does: previous says both.
    window = {
        "nodes": nodes(2),
        "distribution": "redisarray",
        "previous": {"nodes": nodes(1), "distribution": "crc32", "tags": "keep"},
    }
    client = rediscluster.StrictRedisCluster(cluster=window)
    plain = rediscluster.StrictRedisCluster(
        cluster={"nodes": nodes(2), "distribution": "redisarray"}
    )
    for key in ("{user:1}:cart", "page:7", "a{}b"):
        assert client.getnodefor(key) == plain.getnodefor(key)
    client.close()
    plain.close()


def test_elastic_places_by_redis_cluster_slots_from_the_config():
    # `foo` is in slot 12182, `bar` in 5061 (CLUSTER KEYSLOT); a table that gives node_2 only
    # slot 12182 sends foo there and everything else to node_1.
    table = nodes(2, node_1={"slots": "0-12181,12183-16383"}, node_2={"slots": "12182"})
    client = rediscluster.StrictRedisCluster(cluster={"nodes": table, "distribution": "elastic"})
    assert list(client.getnodefor("foo")) == ["node_2"]
    assert list(client.getnodefor("bar")) == ["node_1"]
    assert list(client.getnodefor("x{foo}")) == ["node_2"]
    client.close()
