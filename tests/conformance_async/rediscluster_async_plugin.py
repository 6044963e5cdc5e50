"""pytest plugin: redis-py 8.1's asyncio command tests against ``rediscluster.asyncio``.

Loaded by ``make conformance-async`` next to the shared harness's ``conformance_plugin``
(../shared/conformance), which resets the servers after each test and deselects the same tests
for every client. redis-py's ``tests/test_asyncio/conftest.py`` builds every client of those
tests through its ``create_redis`` fixture (``r``, ``r2``, ``decoded_r`` and the tests' own
extra clients); this plugin swaps that fixture, keeping its two parameters (``single``,
``pool``: the test ids stay those of the baseline run, which uses redis-py's own fixture), for
one that builds ``rediscluster.asyncio.StrictRedisCluster`` over the harness's masters, with
the options the test asks for. Without this plugin the same command runs the baseline:
``redis.asyncio.Redis`` on the first master.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio


def candidate(decode_responses=False, **kwargs):
    """The asyncio client over the harness's masters (reads on the masters: the tests read
    back right after writing, and replication is asynchronous), as the sync factory does."""
    import conformance_factories

    import rediscluster.asyncio

    topology = conformance_factories.topology()
    nodes = {
        f"node_{i + 1}": {"host": host, "port": port}
        for i, (host, port) in enumerate(topology["masters"])
    }
    kwargs.pop("single_connection_client", None)
    kwargs.setdefault("mastersonly", True)
    db = kwargs.pop("db", topology["db"])
    return rediscluster.asyncio.StrictRedisCluster(
        cluster={"nodes": nodes}, db=db, decode_responses=decode_responses, **kwargs
    )


# The conftest files whose fixture was swapped (none: the run would test redis-py itself).
_swapped = []


@pytest_asyncio.fixture(params=[(True,), (False,)], ids=["single", "pool"])
async def create_redis(request):
    """redis-py's ``create_redis`` factory fixture, building our client instead."""
    built = []

    async def client_factory(url=None, cls=None, flushdb=True, **kwargs):
        client = candidate(**kwargs)
        built.append((client, flushdb and "username" not in kwargs))
        return client

    yield client_factory
    for client, flush in built:
        if flush:
            await client.flushdb()
        await client.aclose()


def _is_asyncio_conftest(plugin):
    path = Path(getattr(plugin, "__file__", None) or "")
    return (
        path.name == "conftest.py"
        and path.parent.name == "test_asyncio"
        and hasattr(plugin, "create_redis")
    )


@pytest.hookimpl(tryfirst=True)
def pytest_plugin_registered(plugin, manager):
    # Before pytest's FixtureManager parses the conftest module: the fixture it finds under
    # this name is ours.
    if _is_asyncio_conftest(plugin):
        plugin.create_redis = create_redis
        _swapped.append(plugin.__file__)


def pytest_collection_finish(session):
    if not _swapped:
        raise pytest.UsageError(
            "conformance-async: redis-py's tests/test_asyncio/conftest.py was not found: "
            "nothing would test rediscluster.asyncio"
        )


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "asyncio: marker for async tests")
