"""WATCH and optimistic transactions as redis-py runs them: ``pipe.watch()`` holds one
connection of the watched keys' master, commands run at once until ``multi()``, ``execute()``
raises ``WatchError`` when another client changed a watched key, ``transaction()`` retries;
checked against real concurrent writers (direct connections to the masters, threads)."""

import threading

import pytest
import redis
from redis.exceptions import RedisError, WatchError

import rediscluster
from rediscluster import CrossNodeError


def _stored_on(r, master_clients, key):
    """The direct client of the master that owns ``key``."""
    (node,) = r.getnodefor(key)
    return master_clients[node]


def test_a_write_between_watch_and_exec_aborts_with_watch_error(r, master_clients):
    r.set("balance{acct}", 100)
    owner = _stored_on(r, master_clients, "balance{acct}")
    with r.pipeline() as pipe:
        assert pipe.watch("balance{acct}") is True
        assert pipe.watching
        # Immediate mode: the reply comes back at once, nothing is queued.
        balance = int(pipe.get("balance{acct}"))
        assert balance == 100 and len(pipe) == 0
        owner.set("balance", 999)  # another client, under the stored name
        pipe.multi()
        pipe.set("balance{acct}", balance - 10)
        pipe.rpush("log{acct}", "paid 10")
        with pytest.raises(WatchError):
            pipe.execute()
        assert not pipe.watching
    assert r.get("balance{acct}") == b"999"
    assert r.exists("log{acct}") == 0, "an aborted transaction applies nothing"

    # Unchanged, the same transaction applies.
    with r.pipeline() as pipe:
        pipe.watch("balance{acct}")
        balance = int(pipe.get("balance{acct}"))
        pipe.multi()
        pipe.set("balance{acct}", balance - 10).rpush("log{acct}", "paid 10")
        assert pipe.execute() == [True, 1]
    assert r.get("balance{acct}") == b"989"


def test_watch_without_multi_on_a_non_transaction_pipeline_sends_no_exec(r, master_clients, oracle):
    """redis-py: watch() then execute() without multi() on pipeline(transaction=False) runs no
    MULTI/EXEC, so a changed watched key raises nothing; with transaction=True it does."""
    for client, owner in ((r, _stored_on(r, master_clients, "w")), (oracle, oracle)):
        for transaction, raises in ((False, False), (True, True)):
            client.set("w", 1)
            with client.pipeline(transaction=transaction) as pipe:
                pipe.watch("w")
                assert pipe.get("w") == b"1"
                owner.set("w", 2)
                if raises:
                    with pytest.raises(WatchError):
                        pipe.execute()
                else:
                    assert pipe.execute() == []
                assert not pipe.watching
        # What was queued before watch() runs at execute(), on the watched connection.
        with client.pipeline(transaction=False) as pipe:
            pipe.set("w", 3)
            pipe.watch("w")
            assert pipe.execute() == [True]
        assert client.get("w") == b"3"


def test_watched_keys_on_several_masters_are_refused_before_anything_is_sent(r, master_clients):
    keys = [f"k{i}" for i in range(20)]
    nodes = {next(iter(r.getnodefor(k))) for k in keys}
    assert len(nodes) > 1
    for client in master_clients.values():
        client.config_resetstat()
    pipe = r.pipeline()
    with pytest.raises(CrossNodeError) as refused:
        pipe.watch(*keys)
    assert all(node in str(refused.value) for node in nodes)
    assert not pipe.watching
    for client in master_clients.values():
        assert "cmdstat_watch" not in client.info("commandstats")

    # Watching more keys on another master is refused too, and the watch goes on.
    pipe.watch("a{t}")
    other = next(k for k in keys if r.getnodefor(k) != r.getnodefor("a{t}"))
    with pytest.raises(CrossNodeError):
        pipe.watch(other)
    assert pipe.watching
    pipe.watch("b{t}")  # same master: added to the watch
    _stored_on(r, master_clients, "b{t}").set("b", "changed")
    pipe.multi()
    pipe.set("a{t}", 1)
    with pytest.raises(WatchError):
        pipe.execute()
    assert r.exists("a{t}") == 0


def test_redis_py_rules_for_watch_and_multi(r):
    pipe = r.pipeline()
    pipe.multi()
    with pytest.raises(RedisError, match="WATCH after a MULTI"):
        pipe.watch("a{t}")
    pipe.reset()
    # Watching with nothing queued: EXEC of nothing, the watch ends.
    pipe.watch("a{t}")
    assert pipe.execute() == []
    assert not pipe.watching
    # Without multi(), a watching pipeline's commands run at once (on the held connection).
    pipe.watch("a{t}")
    assert pipe.incr("c{t}") == 1
    assert pipe.execute() == []
    assert r.get("c{t}") == b"1"
    # As on one server, a write to a watched key before MULTI, even by the watcher, aborts.
    pipe.watch("a{t}")
    assert pipe.incr("a{t}") == 1
    pipe.multi()
    pipe.incr("c{t}")
    with pytest.raises(WatchError):
        pipe.execute()
    assert r.get("c{t}") == b"1"
    # Commands off the watched master are refused: they would not be on its connection.
    pipe.watch("a{t}")
    other = next(f"k{i}" for i in range(20) if r.getnodefor(f"k{i}") != r.getnodefor("a{t}"))
    with pytest.raises(CrossNodeError):
        pipe.get(other)
    pipe.reset()


def test_unwatch_reset_and_context_manager_give_the_connection_back_unwatched(r, master_clients):
    owner = _stored_on(r, master_clients, "w{t}")
    pipe = r.pipeline()
    pipe.watch("w{t}")
    assert pipe.unwatch() is True
    assert not pipe.watching
    owner.set("w", "changed after unwatch")
    # The next transactions take pooled connections: none may still watch the key.
    for expected in (1, 2, 3):
        assert r.transaction(lambda p: p.incr("n{t}")) == [expected]

    with r.pipeline() as pipe:
        pipe.watch("w{t}")
    assert not pipe.watching
    owner.set("w", "changed after the with block")
    assert r.pipeline().incr("n{t}").execute() == [4]

    pipe = r.pipeline()
    pipe.watch("w{t}")
    pipe.reset()
    owner.set("w", "changed after reset")
    assert r.pipeline().incr("n{t}").execute() == [5]

    # A watching pipeline that is dropped closes its connection.
    pipe = r.pipeline()
    pipe.watch("w{t}")
    del pipe
    owner.set("w", "changed after the drop")
    assert r.pipeline().incr("n{t}").execute() == [6]


def test_transaction_retries_on_watch_error_and_returns_what_redis_py_returns(r, master_clients):
    owner = _stored_on(r, master_clients, "stock{item}")
    r.set("stock{item}", 10)
    calls = []

    def take_one(pipe):
        stock = int(pipe.get("stock{item}"))
        calls.append(stock)
        if len(calls) == 1:
            owner.decr("stock")  # someone else buys one meanwhile: the first EXEC aborts
        pipe.multi()
        pipe.set("stock{item}", stock - 1)
        return stock - 1

    assert r.transaction(take_one, "stock{item}") == [True]
    assert calls == [10, 9], "the first attempt was aborted and the second read again"
    assert r.get("stock{item}") == b"8"
    calls.clear()
    assert r.transaction(take_one, "stock{item}", value_from_callable=True, watch_delay=0.01) == 6
    assert calls == [8, 7]
    assert r.get("stock{item}") == b"6"


def test_concurrent_watch_incr_counter_ends_at_exactly_the_sum(r):
    workers, increments = 8, 40

    def increment(pipe):
        value = int(pipe.get("counter{c}") or 0)
        pipe.multi()
        pipe.set("counter{c}", value + 1)

    errors = []

    def work():
        try:
            for _ in range(increments):
                r.transaction(increment, "counter{c}")
        except Exception as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert int(r.get("counter{c}")) == workers * increments


def test_watch_with_another_codec_and_decoded_replies(config):
    client = rediscluster.StrictRedisCluster(
        cluster=config, mastersonly=True, encoding="latin-1", decode_responses=True
    )
    client.set("é{t}", "ü")
    with client.pipeline() as pipe:
        pipe.watch("é{t}")
        assert pipe.get("é{t}") == "ü"
        pipe.multi()
        pipe.set("é{t}", "ö").get("é{t}")
        assert pipe.execute() == [True, "ö"]
    plain = redis.Redis(port=config["nodes"][next(iter(client.getnodefor("é{t}")))]["port"])
    assert plain.get("é".encode("latin-1")) == "ö".encode("latin-1")
    plain.close()
    client.close()


def _increment_in_child(r, increments, done):
    def increment(pipe):
        value = int(pipe.get("counter{p}") or 0)
        pipe.multi()
        pipe.set("counter{p}", value + 1)

    for _ in range(increments):
        r.transaction(increment, "counter{p}")
    done.put(True)


def test_concurrent_processes_and_threads_count_exactly(r):
    """Forked workers (each builds its own connections on first use) and the parent's thread
    race on one WATCHed counter: it ends at exactly the sum."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    processes, increments = 3, 25
    done = context.Queue()
    r.set("counter{p}", 0)
    children = [
        context.Process(target=_increment_in_child, args=(r, increments, done))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    _increment_in_child(r, increments, done)
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert done.qsize() == processes + 1
    assert int(r.get("counter{p}")) == (processes + 1) * increments
