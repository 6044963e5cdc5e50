"""The migration tools from `pip install .`: the `rediscluster` console script and
`rediscluster.tools` functions, on the Rust engine."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

import rediscluster
import rediscluster.tools
from conftest import SPARE_PORTS, Server


@pytest.fixture
def source():
    server = Server(SPARE_PORTS[0])
    yield server
    server.stop()


def test_console_script(config):
    script = Path(sys.executable).with_name("rediscluster")
    urls = ",".join(f"redis://127.0.0.1:{n['port']}" for n in config["nodes"].values())
    out = subprocess.run(
        [str(script), "nodefor", "--cluster", urls, "foo", "bar{foo}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    r = rediscluster.StrictRedisCluster(cluster=config)
    (node,) = r.getnodefor("foo")
    assert f"foo\t{node}\t" in out and f"bar{{foo}}\t{node}\t" in out
    bad = subprocess.run(
        [str(script), "info", "--cluster", "/no/such.json"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "cannot read the cluster config" in bad.stderr


def test_copy_and_reshard_as_functions(config, source):
    client = source.client()
    client.mset({f"key:{i}": i for i in range(500)})
    client.set("session{user:7}", "tagged", ex=600)
    summary = rediscluster.tools.copy(f"redis://127.0.0.1:{source.port}", config, verify=True)
    assert summary["copy"]["copied"] == 501
    assert summary["verify"]["missing"] == summary["verify"]["different"] == 0
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    assert r.get("key:42") == b"42"
    assert r.get("session{user:7}") == b"tagged"
    assert 590 < r.ttl("session{user:7}") <= 600
    # Two masters -> three: every key still found with the new config.
    nodes = config["nodes"]
    two = {"nodes": {"node_1": nodes["node_1"], "node_2": nodes["node_2"]}}
    for node in config["nodes"].values():
        redis.Redis(port=node["port"]).flushall()
    small = rediscluster.StrictRedisCluster(cluster=two, mastersonly=True)
    small.mset({f"key:{i}": i for i in range(300)})
    moved = rediscluster.tools.reshard(two, config)
    assert moved["moved"] > 50 and moved["unplaceable"] == 0
    assert r.mget([f"key:{i}" for i in range(300)]) == [str(i).encode() for i in range(300)]
    with pytest.raises(rediscluster.ClusterConfigError):
        rediscluster.tools.copy("/no/such/file.json", config)
    with pytest.raises(redis.ConnectionError, match="127.0.0.1:1"):
        rediscluster.tools.copy("redis://127.0.0.1:1", config)


def test_nodefor_plan_and_grow_from_the_console_script(tmp_path):
    script = Path(sys.executable).with_name("rediscluster")
    nodes = {f"node_{i}": {"host": "10.0.0.1", "port": 6000 + i} for i in range(1, 5)}
    four = tmp_path / "four.json"
    four.write_text(json.dumps({"nodes": nodes, "distribution": "elastic"}))

    def run(*args):
        return subprocess.run([str(script), *args], check=True, capture_output=True, text=True)

    # The distribution named on the command line places the key, as a client with it would.
    out = run("nodefor", "--cluster", str(four), "--distribution", "predis", "user{42}:x").stdout
    predis = rediscluster.StrictRedisCluster(cluster={"nodes": nodes, "distribution": "predis"})
    (node,) = predis.getnodefor("user{42}:x")
    assert out.startswith(f"user{{42}}:x\t{node}\t")
    predis.close()
    five = tmp_path / "five.json"
    five.write_text(run("grow", "--cluster", str(four), "--add", "10.0.0.1:6005").stdout)
    assert json.loads(five.read_text())["nodes"]["node_5"]["slots"]
    table = run("plan", "--from", str(four), "--to", str(five), "--random", "50000").stdout
    assert "node_5" in table and "moves" in table
    moved = json.loads(
        run("--json", "plan", "--from", str(four), "--to", str(five), "--random", "50000").stdout
    )
    assert abs(moved["fraction_moving"] - 1 / 5) < 0.01
    bad = subprocess.run(
        [str(script), "grow", "--cluster", str(five), "--add", "10.0.0.1:6001"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "same address" in bad.stderr
