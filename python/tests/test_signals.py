"""Signal handlers end a blocking call, as with redis-py: the engine waits with the GIL
released, yet a handler that raises (Ctrl-C's KeyboardInterrupt, pytest-timeout's or rq's
timer) ends a BLPOP with its exception, and the client is sound afterwards. A handler that
returns lets the call go on."""

from __future__ import annotations

import signal
import time

import pytest

import rediscluster


class Alarm(Exception):
    pass


@pytest.fixture
def alarm_after():
    """`alarm_after(seconds, raises=True)`: SIGALRM once, its handler raising `Alarm` or not;
    returns the list of times the handler ran."""
    ran = []

    def arm(seconds, raises=True):
        def handler(signum, frame):
            ran.append(time.monotonic())
            if raises:
                raise Alarm()

        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return ran

    previous = signal.getsignal(signal.SIGALRM)
    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _wait_until_nobody_blocks(server):
    deadline = time.monotonic() + 5
    while server.info("clients")["blocked_clients"]:
        assert time.monotonic() < deadline, "a BLPOP is still blocked on the server"
        time.sleep(0.01)


def test_a_raising_handler_ends_a_blocking_pop_and_the_client_goes_on(
    config, alarm_after, master_clients
):
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    started = time.monotonic()
    alarm_after(0.3)
    with pytest.raises(Alarm):
        r.blpop(["sig:empty"], timeout=0)
    assert time.monotonic() - started < 5
    # The interrupted connection was closed, not pooled: its BLPOP reply can never be taken
    # for the next command's. (Once the server has dropped the dead BLPOP: an element pushed
    # before would go to it.)
    _wait_until_nobody_blocks(master_clients[r._core.node_for("sig:empty")])
    r.rpush("sig:empty", "late")
    assert r.blpop(["sig:empty"], timeout=1) == (b"sig:empty", b"late")
    r.set("sig:after", "1")
    assert r.get("sig:after") == b"1"


def test_a_raising_handler_ends_a_blocking_pop_over_several_masters(
    config, alarm_after, master_clients
):
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    keys = [f"sig:list{i}" for i in range(12)]
    assert len({r._core.node_for(key) for key in keys}) > 1
    started = time.monotonic()
    alarm_after(0.3)
    with pytest.raises(Alarm):
        r.blpop(keys, timeout=0)
    assert time.monotonic() - started < 5
    for server in master_clients.values():
        _wait_until_nobody_blocks(server)
    r.rpush(keys[-1], "v")
    assert r.blpop(keys, timeout=1) == (keys[-1].encode(), b"v")


def test_a_handler_that_returns_lets_the_call_go_on(config, alarm_after):
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    started = time.monotonic()
    ran = alarm_after(0.2, raises=False)
    assert r.blpop(["sig:quiet"], timeout=1) is None
    assert len(ran) == 1
    assert time.monotonic() - started >= 0.9


def test_a_raising_handler_ends_a_pipeline_waiting_on_a_blocking_command(config, alarm_after):
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    pipe = r.pipeline(transaction=False)
    pipe.set("sig:p", "1").blpop(["sig:pipe-empty"], timeout=0)
    alarm_after(0.3)
    with pytest.raises(Alarm):
        pipe.execute()
    assert r.get("sig:p") == b"1"


def test_once_a_handler_raised_the_calls_other_waits_end_too(config, alarm_after, master_clients):
    """A pipeline waiting on two masters: the handler raises once, and the wait on the other
    master ends as well (no second signal needed)."""
    r = rediscluster.StrictRedisCluster(cluster=config, mastersonly=True)
    first = next(k for k in (f"sig:a{i}" for i in range(50)) if r._core.node_for(k) == "node_1")
    second = next(k for k in (f"sig:b{i}" for i in range(50)) if r._core.node_for(k) == "node_2")
    pipe = r.pipeline(transaction=False)
    pipe.blpop([first], timeout=0).blpop([second], timeout=0)
    started = time.monotonic()
    alarm_after(0.3)
    with pytest.raises(Alarm):
        pipe.execute()
    assert time.monotonic() - started < 5
    for server in master_clients.values():
        _wait_until_nobody_blocks(server)
    assert r.ping()
