"""``rediscluster.asyncio.StrictRedisCluster``: redis.asyncio's API over the same engine, against
the dev cluster. Each test runs its own event loop (``asyncio.run``), as applications do; a
client is built inside it. Checked here: the placement and the replies are the synchronous
client's, the loop is never blocked (a blocking pop on one task while others run), thousands
of concurrent calls use a fixed set of threads, cancellation ends a blocking pop on the server
(nothing is lost), batches of calls keep each call's own error, pipelines, WATCH, locks,
``scan_iter``, ``aclose``, a forked child, and uvloop."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import redis.asyncio
from redis.exceptions import DataError, ResponseError, WatchError

import rediscluster
import rediscluster.asyncio
from rediscluster import CommandNotSupportedError, CrossNodeError


def run(test, config, **options):
    """Runs ``test(client)`` on a fresh loop with a client on the dev cluster's masters."""

    async def main():
        client = rediscluster.asyncio.StrictRedisCluster(
            cluster=config, db=0, mastersonly=True, **options
        )
        try:
            return await test(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def native_threads():
    """This process's threads, native ones included (the engine's are not Python threads)."""
    return len(os.listdir("/proc/self/task"))


def test_it_is_a_redis_asyncio_client_with_the_sync_clients_placement(config, r):
    async def test(a):
        assert isinstance(a, redis.asyncio.Redis)
        keys = [f"place:{i}" for i in range(50)] + ["a{tag}", "b{tag}"]
        for key in keys:
            assert a.getnodefor(key) == r.getnodefor(key)
            assert await a.set(key, key) is True
        # Written through asyncio, read through the synchronous client: same nodes.
        assert r.mget(keys) == [k.encode() for k in keys]
        assert await a.mget(keys + ["missing"]) == [k.encode() for k in keys] + [None]
        assert a.nodes == r.nodes

    run(test, config)


def test_replies_are_shaped_by_redis_asyncios_callbacks(config):
    async def test(a):
        await a.hset("h", mapping={"f": "1", "g": "2"})
        assert await a.hgetall("h") == {b"f": b"1", b"g": b"2"}
        assert await a.incrbyfloat("fl", 1.5) == 1.5
        await a.zadd("z", {"m": 2.0, "n": 1.0})
        assert await a.zrange("z", 0, -1, withscores=True) == [(b"n", 1.0), (b"m", 2.0)]
        assert await a.exists("h", "fl", "nope") == 2
        assert (await a.info("server"))["redis_version"]
        assert await a.dbsize() == 3  # summed over the masters, as the sync client
        assert sorted([k async for k in a.scan_iter("*")]) == [b"fl", b"h", b"z"]

    run(test, config)


def test_decoding_and_other_codecs(config):
    async def decoded(a):
        await a.set("k", "välue")
        assert await a.get("k") == "välue"
        assert await a.mget(["k", "x"]) == ["välue", None]

    run(decoded, config, decode_responses=True)

    async def latin1(a):
        await a.set("k", "é")
        assert await a.get("k") == "é"
        return await a.execute_on(a.getnodefor("k").popitem()[0], "GET", "k")

    assert run(latin1, config, decode_responses=True, encoding="latin-1") == "é"


def test_errors_are_redis_pys_and_each_call_in_a_batch_keeps_its_own(config):
    async def test(a):
        await a.set("text", "abc")
        with pytest.raises(ResponseError, match="not an integer"):
            await a.incr("text")
        with pytest.raises(DataError):
            await a.set("k", {"not": "encodable"})
        with pytest.raises(CommandNotSupportedError):
            await a.execute_command("MULTI")
        # Many one-node calls at once run in shared batches: the failing ones (a wrong type,
        # a script over two masters) fail alone, the others answer.
        one, two = _keys_on_two_masters(a)

        async def good(i):
            return await a.set(f"ok:{i}", i)

        results = await asyncio.gather(
            *(good(i) for i in range(200)),
            a.incr("text"),
            a.eval("return 1", 2, one, two),
            *(good(i) for i in range(200, 400)),
            return_exceptions=True,
        )
        assert results[:200] == [True] * 200 and results[202:] == [True] * 200
        assert isinstance(results[200], ResponseError)
        assert isinstance(results[201], CrossNodeError)
        assert await a.get("ok:399") == b"399"

    run(test, config)


def _keys_on_two_masters(client):
    first = "spread:0"
    node = client.getnodefor(first)
    other = next(f"spread:{i}" for i in range(1, 100) if client.getnodefor(f"spread:{i}") != node)
    return first, other


def test_the_loop_runs_while_a_blocking_pop_waits(config):
    async def test(a):
        popper = asyncio.create_task(a.blpop(["queue"], timeout=2))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        for i in range(100):
            await a.set(f"during:{i}", i)
        assert time.perf_counter() - started < 1.5, "calls waited behind the BLPOP"
        assert not popper.done()
        await a.rpush("queue", "job")
        assert await popper == (b"queue", b"job")

    run(test, config)


def test_a_cancelled_blocking_pop_takes_nothing(config, master_clients):
    async def test(a):
        (node,) = a.getnodefor("jobs")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(a.blpop(["jobs"], timeout=0), 0.2)
        # The server dropped the cancelled client's BLPOP: what is pushed now stays.
        deadline = time.monotonic() + 5
        while master_clients[node].info("clients")["blocked_clients"]:
            assert time.monotonic() < deadline, "the cancelled BLPOP still blocks"
            await asyncio.sleep(0.01)
        await a.rpush("jobs", "kept")
        assert await a.lrange("jobs", 0, -1) == [b"kept"]
        # Over several masters (emulated by polling) too.
        one, two = _keys_on_two_masters(a)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(a.blpop([one, two], timeout=0), 0.2)
        await a.rpush(one, "also kept")
        await asyncio.sleep(0.3)
        assert await a.lrange(one, 0, -1) == [b"also kept"]

    run(test, config)


def test_thousands_of_concurrent_calls_use_a_fixed_set_of_threads(config):
    async def test(a):
        await a.ping()  # the engine threads exist from here on
        before = native_threads()
        peak = before

        async def task(i):
            nonlocal peak
            await a.set(f"c:{i}", i)
            peak = max(peak, native_threads())
            value = await a.get(f"c:{i}")
            peak = max(peak, native_threads())
            return value

        got = await asyncio.gather(*(task(i) for i in range(3000)))
        assert got == [str(i).encode() for i in range(3000)]
        assert peak == before, f"threads went from {before} to {peak} during the calls"

    run(test, config, engine_threads=2)


def test_a_reply_python_cannot_take_fails_only_its_own_call(config, master_clients):
    async def test(a):
        (node,) = a.getnodefor("latin")
        master_clients[node].set("latin", b"caf\xe9")  # not UTF-8
        results = await asyncio.gather(
            *(a.set(f"fine:{i}", i) for i in range(50)),
            a.get("latin"),
            *(a.get(f"fine:{i}") for i in range(50)),
            return_exceptions=True,
        )
        assert isinstance(results[50], UnicodeDecodeError)
        assert results[:50] == [True] * 50 and results[51:] == [str(i) for i in range(50)]

    run(test, config, decode_responses=True)


def test_a_blocking_command_in_a_pipeline_holds_no_engine_thread(config):
    async def test(a):
        async def blocked_pipeline():
            async with a.pipeline(transaction=False) as pipe:
                pipe.blpop(["pipe-queue"], timeout=0)
                return await pipe.execute()

        waiter = asyncio.create_task(blocked_pipeline())
        await asyncio.sleep(0.1)
        # The only engine thread is free: other calls go on meanwhile.
        assert await asyncio.wait_for(a.set("meanwhile", 1), 2) is True
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0.2)
        await a.rpush("pipe-queue", "kept")
        assert await a.lrange("pipe-queue", 0, -1) == [b"kept"]

    run(test, config, engine_threads=1)


def test_pipelines_and_transactions(config):
    async def test(a):
        async with a.pipeline(transaction=False) as pipe:
            pipe.set("p1", 1).incr("p1").get("p1").mget(["p1", "nope"])
            assert await pipe.execute() == [True, 2, b"2", [b"2", None]]
        async with a.pipeline() as pipe:
            pipe.set("t{x}", 1).incr("t{x}")
            assert await pipe.execute() == [True, 2]
        one, two = _keys_on_two_masters(a)
        async with a.pipeline() as pipe:
            pipe.set(one, 1).set(two, 2)
            with pytest.raises(CrossNodeError):
                await pipe.execute()
        async with a.pipeline(transaction=False) as pipe:
            pipe.set("e", "text").incr("e").get("e")
            with pytest.raises(ResponseError, match="Command # 2"):
                await pipe.execute()
            pipe.incr("e")
            result = await pipe.execute(raise_on_error=False)
            assert isinstance(result[0], ResponseError)

    run(test, config)


def test_watch_runs_as_redis_asyncio_does(config, master_clients):
    async def test(a):
        await a.set("bal{acct}", 100)
        (node,) = a.getnodefor("bal{acct}")
        async with a.pipeline() as pipe:
            assert await pipe.watch("bal{acct}") is True
            balance = int(await pipe.get("bal{acct}"))
            master_clients[node].set("bal", 999)  # another client changes it (stored name)
            pipe.multi()
            pipe.set("bal{acct}", balance - 10)
            with pytest.raises(WatchError):
                await pipe.execute()
        assert await a.get("bal{acct}") == b"999"

        async def withdraw(pipe):
            current = int(await pipe.get("bal{acct}"))
            pipe.multi()
            pipe.set("bal{acct}", current - 1)
            return current

        assert await a.transaction(withdraw, "bal{acct}", value_from_callable=True) == 999
        assert await a.get("bal{acct}") == b"998"
        one, two = _keys_on_two_masters(a)
        async with a.pipeline() as pipe:
            with pytest.raises(CrossNodeError):
                await pipe.watch(one, two)

    run(test, config)


def test_locks_from_redis_asyncio(config):
    async def test(a):
        lock = a.lock("resource", timeout=5, blocking_timeout=0.2)
        assert await lock.acquire()
        other = a.lock("resource", timeout=5, blocking_timeout=0.2)
        assert not await other.acquire()
        await lock.release()
        assert await other.acquire()
        await other.release()

    run(test, config)


def test_aclose_then_use_again_and_a_new_loop_each_time(config):
    client = rediscluster.asyncio.StrictRedisCluster(cluster=config, mastersonly=True)

    async def use():
        await client.set("again", "x")
        value = await client.get("again")
        await client.aclose()
        return value

    # Two loops one after the other (asyncio.run closes each), the client reused.
    assert asyncio.run(use()) == b"x"
    assert asyncio.run(use()) == b"x"

    async def as_context():
        async with rediscluster.asyncio.StrictRedisCluster(cluster=config) as c:
            return await c.ping()

    assert asyncio.run(as_context()) is True  # PING answered the same by every master


def test_a_forked_child_gets_its_own_engine(config):
    client = rediscluster.asyncio.StrictRedisCluster(cluster=config, mastersonly=True)
    asyncio.run(client.set("fork", "parent"))
    pid = os.fork()
    if pid == 0:
        status = 1
        try:

            async def child():
                await client.set("fork", "child")
                return await client.get("fork")

            status = 0 if asyncio.run(child()) == b"child" else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's engine still works, and sees the child's write.
    assert asyncio.run(client.get("fork")) == b"child"


def test_it_runs_on_uvloop(config):
    uvloop = pytest.importorskip("uvloop")

    async def main():
        async with rediscluster.asyncio.StrictRedisCluster(cluster=config) as a:
            await asyncio.gather(*(a.set(f"uv:{i}", i) for i in range(500)))
            return await a.mget([f"uv:{i}" for i in range(500)])

    assert uvloop.run(main()) == [str(i).encode() for i in range(500)]


def test_bad_settings_are_clear_errors(config):
    with pytest.raises(ValueError, match="engine_threads"):
        rediscluster.asyncio.StrictRedisCluster(cluster=config, engine_threads=0)
    with pytest.raises(rediscluster.ClusterConfigError):
        rediscluster.asyncio.StrictRedisCluster(cluster={"nodes": {}})
    with pytest.raises(CommandNotSupportedError):
        rediscluster.asyncio.StrictRedisCluster(cluster=config).monitor()


def test_from_url(config):
    masters = [config["nodes"][f"node_{i}"] for i in (1, 2, 3)]
    url = "redis://" + ",".join(f"{m['host']}:{m['port']}" for m in masters) + "/0"

    async def test():
        async with rediscluster.asyncio.StrictRedisCluster.from_url(url) as a:
            await a.set("url", "ok")
            return await a.get("url"), len(a.nodes)

    assert asyncio.run(test()) == (b"ok", 3)


def test_pubsub_over_the_masters_without_blocking_the_loop(config):
    async def test(a):
        async with a.pubsub() as pubsub:
            channels = [f"chan:{i}" for i in range(12)]  # spread over the masters
            await pubsub.subscribe(*channels)
            await pubsub.psubscribe("pat:*")
            confirmations = [await pubsub.get_message(timeout=5) for _ in range(13)]
            assert {m["type"] for m in confirmations} == {"subscribe", "psubscribe"}
            # Nothing published yet: a bounded wait answers None in about its time.
            started = time.perf_counter()
            assert await pubsub.get_message(timeout=0.2) is None
            assert 0.15 < time.perf_counter() - started < 2

            # A reader waits (the loop runs meanwhile) until a publisher on another task sends.
            async def publish_later():
                await asyncio.sleep(0.1)
                for channel in channels:
                    assert await a.publish(channel, f"to {channel}") == 1
                await a.publish("pat:x", "by pattern")

            publisher = asyncio.create_task(publish_later())
            got = []
            async for message in pubsub.listen():
                got.append(message)
                if len(got) == 13:
                    break
            await publisher
            assert sorted(m["data"] for m in got if m["type"] == "message") == sorted(
                f"to {c}".encode() for c in channels
            )
            (by_pattern,) = [m for m in got if m["type"] == "pmessage"]
            assert by_pattern["pattern"] == b"pat:*" and by_pattern["data"] == b"by pattern"
            # Handlers, coroutine ones included, take their messages.
            seen = []

            async def handler(message):
                seen.append(message["data"])

            await pubsub.subscribe(handled=handler)
            assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
            await a.publish("handled", "h")
            assert await pubsub.get_message(timeout=5) is None
            assert seen == [b"h"]
            await pubsub.unsubscribe()
            await pubsub.punsubscribe()

    run(test, config)


def test_a_cancelled_listener_loses_nothing(config):
    async def test(a):
        pubsub = a.pubsub()
        await pubsub.subscribe("news")
        await pubsub.get_message(timeout=5)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pubsub.get_message(timeout=None), 0.1)
        await a.publish("news", "after the cancel")
        message = await pubsub.get_message(timeout=5)
        assert message["data"] == b"after the cancel"
        await pubsub.aclose()

    run(test, config)


def test_a_client_dropped_without_aclose_frees_its_threads_while_the_loop_runs(config):
    import gc

    async def main():
        before = native_threads()
        fds_before = len(os.listdir("/proc/self/fd"))
        for _ in range(5):
            client = rediscluster.asyncio.StrictRedisCluster(
                cluster=config, mastersonly=True, engine_threads=2
            )
            await client.set("dropped", "x")
            del client
            gc.collect()
        deadline = time.monotonic() + 5
        while native_threads() > before:
            assert time.monotonic() < deadline, "the dropped clients' engine threads remain"
            await asyncio.sleep(0.01)
        # The loop unwatched the closed pipes itself and closed its duplicates of them.
        deadline = time.monotonic() + 5
        while len(os.listdir("/proc/self/fd")) > fds_before:
            assert time.monotonic() < deadline, "the dropped clients' pipes stay open"
            await asyncio.sleep(0.01)
        # The loop goes on (a new client works).
        async with rediscluster.asyncio.StrictRedisCluster(cluster=config) as client:
            assert await client.get("dropped") == b"x"

    asyncio.run(main())


def test_pubsub_run_without_subscriptions_lets_the_loop_run(config):
    async def test(a):
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        counting = asyncio.create_task(ticker())
        pubsub = a.pubsub()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pubsub.run(poll_timeout=0.05), 0.3)
        assert await pubsub.get_message(timeout=0) is None
        counting.cancel()
        assert ticks >= 10, f"the loop was held: {ticks} ticks in 0.3 s"

    run(test, config)


def test_a_listener_outlives_the_clients_aclose(config):
    async def test(a):
        pubsub = a.pubsub()
        await pubsub.subscribe("after-close")
        await pubsub.get_message(timeout=5)
        listener = asyncio.create_task(pubsub.get_message(timeout=5))
        await asyncio.sleep(0.05)
        await a.aclose()
        async with rediscluster.asyncio.StrictRedisCluster(cluster=config) as other:
            assert await other.publish("after-close", "still heard") == 1
        message = await listener
        assert message is not None and message["data"] == b"still heard"
        await pubsub.aclose()

    run(test, config)


def test_pubsub_resubscribe_and_a_run_whose_reads_fail_at_once(config):
    from unittest import mock

    async def test(a):
        p = a.pubsub()
        with pytest.raises(RuntimeError):
            await p.get_message()  # as redis.asyncio: nothing subscribed or connected yet
        await p.subscribe("again")
        await p.unsubscribe("again")
        await p.subscribe("again")
        kinds = [(await p.get_message(timeout=2))["type"] for _ in range(3)]
        assert kinds == ["subscribe", "unsubscribe", "subscribe"] and p.subscribed
        await p.aclose()
        # run() yields between reads even when each one fails at once.
        handled = a.pubsub()
        await handled.subscribe(with_handler=lambda message: None)
        errors = []
        with mock.patch.object(handled, "get_message", side_effect=Exception("boom")):
            runner = asyncio.create_task(
                handled.run(exception_handler=lambda error, _: errors.append(error))
            )
            await asyncio.sleep(0.05)
            runner.cancel()
            with pytest.raises(asyncio.CancelledError):
                await runner
        assert errors and str(errors[0]) == "boom"
        await handled.aclose()

    run(test, config)


def test_a_pipeline_answers_an_mget_of_no_keys_itself(config, r):
    """redis-py answers ``mget([])`` with ``[]`` (EMPTY_RESPONSE) in a pipeline too; the
    engine would refuse the malformed MGET before sending anything."""
    with r.pipeline(transaction=False) as pipe:
        pipe.set("a", 1).mget([]).set("c", 3)
        assert pipe.execute() == [True, [], True]

    async def test(a):
        async with a.pipeline(transaction=False) as pipe:
            pipe.set("a", 1).mget([]).set("c", 3)
            return await pipe.execute(raise_on_error=False)

    assert run(test, config) == [True, [], True]
