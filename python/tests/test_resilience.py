"""Reliability and security from Python: one client shared by 16 threads (the GIL released
around every call), random argument types to ``execute_command``, a stopped node failing
within the read timeout, AUTH with an ACL user, and TLS with a client certificate."""

from __future__ import annotations

import os
import random
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis

import rediscluster
from conftest import ROOT, SPARE_PORTS, Server

THREADS = 16
OPERATIONS = 100_000


def test_sixteen_threads_share_one_client_without_cross_talk(config):
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    failures = []

    def run(thread):
        rng = random.Random(thread)
        strings = {}
        counter = 0
        try:
            for op in range(OPERATIONS // THREADS):
                key = f"t{thread}:k{rng.randrange(50)}"
                choice = rng.randrange(6)
                if choice < 2:
                    value = f"{thread}:{op}".encode()
                    assert r.set(key, value) is True
                    strings[key] = value
                elif choice == 2:
                    assert r.get(key) == strings.get(key), (thread, key)
                elif choice == 3:
                    counter += 1
                    assert r.incr(f"t{thread}:counter") == counter
                elif choice == 4:
                    field = f"f{rng.randrange(5)}"
                    r.hset(f"t{thread}:hash", field, op)
                    assert r.hget(f"t{thread}:hash", field) == str(op).encode()
                else:
                    keys = [f"t{thread}:k{rng.randrange(50)}" for _ in range(8)]
                    assert r.mget(keys) == [strings.get(k) for k in keys], thread
        except BaseException as error:  # reported by the main thread
            failures.append((thread, repr(error)))

    workers = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    r.close()


# Values of every type a caller might pass, sensible or not.
_ODD_VALUES = [
    b"",
    b"\x00\xff",
    "",
    "ünïcode",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    0,
    -1,
    2**70,
    1.5,
    float("nan"),
    float("inf"),
    True,
    None,
    [],
    ["a"],
    {},
    {"a": 1},
    (1, 2),
    object(),
    memoryview(b"mv"),
    bytearray(b"ba"),
    Path("p"),
    1 + 2j,
    b"k{tag}",
]


def test_random_argument_types_give_errors_never_crashes(r):
    rng = random.Random(2026)
    commands = [
        "GET",
        "SET",
        "MGET",
        "MSET",
        "DEL",
        "HSET",
        "ZADD",
        "EXPIRE",
        "LPUSH",
        "SUNION",
        "RENAME",
        "PING",
        "ECHO",
        "EVAL",
        "OBJECT",
        "XADD",
        "NOSUCH",
    ]
    allowed = (redis.RedisError, ValueError, TypeError, UnicodeError, OverflowError)
    for _ in range(3000):
        args = [rng.choice(commands)]
        args += [rng.choice(_ODD_VALUES) for _ in range(rng.randrange(6))]
        try:
            r.execute_command(*args)
        except allowed:
            pass
    # Still a working client afterwards.
    assert r.set("after", "fuzz") is True
    assert r.get("after") == b"fuzz"


@pytest.fixture
def stoppable():
    servers = [Server(SPARE_PORTS[1]), Server(SPARE_PORTS[2])]
    yield servers
    for server in servers:
        server.stop()


def test_a_stopped_node_fails_within_the_read_timeout_and_recovers(stoppable):
    cluster = {
        "nodes": {
            f"node_{i + 1}": {"host": "127.0.0.1", "port": s.port} for i, s in enumerate(stoppable)
        }
    }
    r = rediscluster.StrictRedisCluster(cluster=cluster, socket_timeout=0.5)
    frozen = next(k for k in (f"k{i}" for i in range(100)) if "node_2" in r.getnodefor(k))
    alive = next(k for k in (f"k{i}" for i in range(100)) if "node_1" in r.getnodefor(k))
    r.set(frozen, "v")
    r.set(alive, "v")
    stoppable[1].pause()
    try:
        started = time.monotonic()
        with pytest.raises((redis.TimeoutError, redis.ConnectionError)) as raised:
            r.get(frozen)
        # one timeout, not two (the margin is for a loaded CI machine)
        assert time.monotonic() - started < 0.75
        assert f"127.0.0.1:{stoppable[1].port}" in str(raised.value)
        assert r.get(alive) == b"v"
    finally:
        stoppable[1].resume()
    deadline = time.monotonic() + 3
    while True:
        try:
            assert r.get(frozen) == b"v"
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_acl_user_and_password_never_shown():
    server = Server(SPARE_PORTS[3])
    try:
        admin = server.client()
        admin.acl_setuser(
            "app", enabled=True, passwords=["+apppass"], keys="*", channels="*", commands=["+@all"]
        )
        admin.acl_setuser("default", enabled=False)
        cluster = {"nodes": {"node_1": {"host": "127.0.0.1", "port": server.port}}}
        r = rediscluster.StrictRedisCluster(cluster=cluster, username="app", password="apppass")
        assert r.set("k", "v") is True
        assert r.get("k") == b"v"
        assert "apppass" not in repr(r) and "apppass" not in repr(r.connection_pool)
        assert "apppass" not in str(r.connection_pool.connection_kwargs)
        assert "apppass" not in str(r.getnodefor("k")) + str(r.info())
        wrong = rediscluster.StrictRedisCluster(
            cluster=cluster, username="app", password="wrongpass"
        )
        with pytest.raises(redis.RedisError) as raised:
            wrong.get("k")
        assert "wrongpass" not in str(raised.value)
        assert "WRONGPASS" in str(raised.value) or "invalid" in str(raised.value)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certs():
    directory = tempfile.mkdtemp(prefix="rediscluster-py-tls-")
    subprocess.run(
        ["bash", str(ROOT / "tests" / "tls" / "make-certs.sh"), directory],
        check=True,
        capture_output=True,
    )
    return Path(directory)


def test_tls_with_client_certificate(certs):
    port = SPARE_PORTS[4]
    server = _tls_server(port, certs)
    try:
        cluster = {"nodes": {"node_1": {"host": "127.0.0.1", "port": port}}}
        r = rediscluster.StrictRedisCluster(
            cluster=cluster,
            ssl=True,
            ssl_ca_certs=str(certs / "ca.crt"),
            ssl_certfile=str(certs / "client.crt"),
            ssl_keyfile=str(certs / "client.key"),
            ssl_cert_reqs="required",
        )
        assert r.set("over-tls", "yes") is True
        assert r.get("over-tls") == b"yes"
        assert r.mget(["over-tls", "none"]) == [b"yes", None]
        untrusted = rediscluster.StrictRedisCluster(
            cluster=cluster,
            ssl=True,
            ssl_ca_certs=str(certs / "other-ca.crt"),
            ssl_certfile=str(certs / "client.crt"),
            ssl_keyfile=str(certs / "client.key"),
        )
        with pytest.raises(redis.ConnectionError, match="TLS"):
            untrusted.get("over-tls")
        unverified = rediscluster.StrictRedisCluster(
            cluster=cluster,
            ssl=True,
            ssl_cert_reqs=ssl.CERT_NONE,
            ssl_certfile=str(certs / "client.crt"),
            ssl_keyfile=str(certs / "client.key"),
        )
        assert unverified.get("over-tls") == b"yes"
    finally:
        server.process.terminate()
        server.process.wait(5)


class _TlsServer:
    def __init__(self, process):
        self.process = process


def _tls_server(port, certs):
    workdir = tempfile.mkdtemp(prefix=f"rediscluster-py-{port}-")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            workdir,
            "--tls-cert-file",
            str(certs / "server.crt"),
            "--tls-key-file",
            str(certs / "server.key"),
            "--tls-ca-cert-file",
            str(certs / "ca.crt"),
            "--tls-auth-clients",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return _TlsServer(process)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"TLS redis-server on {port} did not start") from None
            time.sleep(0.02)


def _lua_value(rng, depth=0):
    """A random Lua value as source text: integers, strings (binary too), false (nil in a
    reply), status and error tables, nested tables."""
    roll = rng.randrange(8 if depth < 3 else 4)
    if roll == 0:
        return str(rng.randrange(-(2**53), 2**53))
    if roll == 1:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
        return '"' + "".join(f"\\{b}" for b in data) + '"'
    if roll == 2:
        return "false"
    if roll == 3:
        return f"{{ok = 'S{rng.randrange(100)}'}}"
    items = [_lua_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return "{" + ", ".join(items) + "}"


def test_random_replies_convert_as_redis_py_does(r, oracle):
    """The reply converter on random nested replies, made by Lua scripts: ours must equal
    plain redis-py's, value for value (and as text with decode_responses)."""
    rng = random.Random(8)
    decoded = rediscluster.StrictRedisCluster(
        cluster={"nodes": r._nodes}, mastersonly=True, decode_responses=True
    )
    plain_decoded = redis.Redis(
        port=oracle.connection_pool.connection_kwargs["port"], decode_responses=True
    )
    for _ in range(400):
        script = "return " + _lua_value(rng)
        assert r.eval(script, 0) == oracle.eval(script, 0), script
        try:
            expected = plain_decoded.eval(script, 0)
        except UnicodeDecodeError:
            with pytest.raises(UnicodeDecodeError):
                decoded.eval(script, 0)
            continue
        assert decoded.eval(script, 0) == expected, script


def test_a_forked_child_gets_its_own_connections(config):
    """Parent and child share one client object across os.fork() and use it at once: each
    must only ever read its own replies (the child builds new connections, in the same db),
    and a pub/sub from before the fork stays the parent's."""
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    assert r.execute_command("SELECT", 1) is True
    for i in range(50):
        r.set(f"fork:{i}", "before")
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("fork-channel")
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(readable)
        problem = b""
        try:
            assert r.get("fork:7") == b"before", "the child is in db 1 too"
            for n in range(400):
                key = f"fork:child:{n % 50}"
                r.set(key, f"child-{n}")
                assert r.get(key) == f"child-{n}".encode()
                assert r.mget([key, "fork:3"]) == [f"child-{n}".encode(), b"before"]
            try:
                pubsub.get_message(timeout=0.01)
                problem = b"an inherited pub/sub answered in the child"
            except redis.ConnectionError as error:
                assert "before os.fork()" in str(error)
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            problem = repr(error).encode()
        finally:
            os.write(writable, problem)
            os._exit(0)
    os.close(writable)
    for n in range(400):
        key = f"fork:parent:{n % 50}"
        r.set(key, f"parent-{n}")
        assert r.get(key) == f"parent-{n}".encode()
    os.waitpid(pid, 0)
    with os.fdopen(readable, "rb") as child:
        assert child.read() == b""
    # The parent's pub/sub and engine are untouched by the child.
    assert r.publish("fork-channel", "after") == 1
    deadline = time.monotonic() + 5
    message = None
    while message is None and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
    assert message is not None and message["data"] == b"after"
    pubsub.close()
    r.delete(*[f"fork:{who}{i}" for who in ("", "child:", "parent:") for i in range(50)])
    r.close()


def test_connections_the_server_closed_while_idle_never_fail_a_call(stoppable):
    """A server's idle `timeout`, an operator's CLIENT KILL, a restart: the next calls of every
    kind succeed at once on new connections, and none runs twice (nothing had been written to
    a connection the server had closed)."""
    cluster = {
        "nodes": {
            f"node_{i + 1}": {"host": "127.0.0.1", "port": s.port} for i, s in enumerate(stoppable)
        }
    }
    r = rediscluster.StrictRedisCluster(cluster=cluster, mastersonly=True, socket_timeout=5)
    keys = [
        next(k for k in (f"k{i}" for i in range(100)) if node in r.getnodefor(k))
        for node in ("node_1", "node_2")
    ]

    def warm():
        threads = [
            threading.Thread(target=lambda: [r.dbsize() for _ in range(20)]) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def every_kind_of_call(expected):
        started = time.monotonic()
        assert [r.incr(f"{k}:single") for k in keys] == [expected, expected]
        assert r.mset({k: "v" for k in keys}) is True
        assert r.mget(keys) == [b"v", b"v"]
        assert r.ping() is True
        r.dbsize()
        r.info()
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.incr(f"{key}:pipeline").get(key)
        assert pipe.execute() == [expected, b"v", expected, b"v"]
        pipe = r.pipeline(transaction=True)
        pipe.incr("t:a{tag}").get("t:b{tag}")
        assert pipe.execute()[0] == expected
        assert time.monotonic() - started < 2, "at once, not after a timeout"

    warm()
    every_kind_of_call(1)
    # The case: the server's idle timeout closed every pooled connection.
    for server in stoppable:
        server.client().config_set("timeout", 1)
    r.set("k", 1)
    time.sleep(2.5)
    assert r.set("k", 2) is True
    every_kind_of_call(2)
    for server in stoppable:
        server.client().config_set("timeout", 0)
        stats = server.client().info("commandstats")
        assert stats["cmdstat_mset"]["calls"] == 2, "one MSET per round, never sent twice"
    # An operator's CLIENT KILL of every normal client.
    warm()
    for server in stoppable:
        assert server.client().client_kill_filter(_type="normal") > 0
    every_kind_of_call(3)
    # Both servers restarted (empty) while the client was idle.
    for server in stoppable:
        server.kill()
        server.start()
    every_kind_of_call(1)
