"""The pytest side of the library suites' hook (``-p suites_plugin``): the client swap itself
is swap_client's (applied at interpreter start by sitecustomize, imported here too), and every
server of the run is flushed before each test, as each suite's tests expect an empty db."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import redis
import redis.client
import swap_client

swap_client.install()


def _run_servers():
    return [int(port) for port in os.environ["LIBRARY_SUITES_PORTS"].split(",")]


@pytest.fixture(autouse=True)
def _empty_servers():
    """Every server of the run empty before each test (plain redis-py clients of our own)."""
    for port in _run_servers():
        # Built past any swapped constructor: a redis-py client on exactly that port.
        client = object.__new__(redis.client.Redis)
        redis.client.Redis.__init__(client, port=port)
        client.flushall()
        client.close()
    yield


def pytest_sessionfinish(session, exitstatus):
    """Processes a failed test left running (an rq worker pool's non-burst worker, stopped by
    the test only when it passes) are stopped through their own handles: otherwise
    multiprocessing's exit handler waits for them and the run never ends."""
    for child in multiprocessing.active_children():
        child.terminate()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
