<?php

// Stubs for rediscluster-php

namespace RedisCluster {
    class ConnectionException extends \RedisCluster\Exception {
        public function __construct() {}
    }

    class Exception extends \RuntimeException {
        public function __construct() {}
    }

    class RedisCluster {
        /**
         * phpredis's other methods (`incr`, `sAdd`, `lRange`, `expire`, ...), case-insensitive.
         *
         * @param string $name
         * @param array $arguments
         * @return mixed
         */
        public function __call(string $name, array $arguments): mixed {}

        /**
         * `new RedisCluster(['nodes' => [...], 'master_of' => [...]], $db, $mastersOnly,
         * ['timeout' => 1.5, 'read_timeout' => 1.5, 'password' => ..., 'username' => ...,
         * 'persistent' => true])`. The whole config is validated before anything connects;
         * `persistent` (true or an id) reuses the process's engine for that config
         * (`persistent.rs`).
         *
         * @param mixed $cluster
         * @param int|null $db
         * @param bool|null $masters_only
         * @param array|null $options
         */
        public function __construct(mixed $cluster, ?int $db = null, ?bool $masters_only = null, ?array $options = null) {}

        /**
         * Closes the idle connections; the object reconnects if used again.
         *
         * @return bool
         */
        public function close(): bool {}

        /**
         * DEL of keys given one by one or as an array: how many existed.
         *
         * @param mixed $keys
         * @return mixed
         */
        public function del(mixed ...$keys): mixed {}

        /**
         * @param mixed $keys
         * @return mixed
         */
        public function delete(mixed ...$keys): mixed {}

        /**
         * Drops what was queued.
         *
         * @return bool
         */
        public function discard(): bool {}

        /**
         * Runs what was queued; one reply per command (`false` where a command failed).
         *
         * @return mixed
         */
        public function exec(): mixed {}

        /**
         * How many of the keys exist (an int, as phpredis 4+).
         *
         * @param mixed $keys
         * @return mixed
         */
        public function exists(mixed ...$keys): mixed {}

        /**
         * `['node_2' => ['host' => '127.0.0.1', 'port' => 7001]]`: the master `$key` is (or
         * will be) stored on; `name{tag}` keys are placed by `tag`.
         *
         * @param mixed $key
         * @return mixed
         */
        public function getNodeFor(mixed $key): mixed {}

        /**
         * @param mixed $key
         * @return mixed
         */
        public function hGetAll(mixed $key): mixed {}

        /**
         * `[field => value]`, `false` for a missing field.
         *
         * @param mixed $key
         * @param array $fields
         * @return mixed
         */
        public function hMGet(mixed $key, array $fields): mixed {}

        /**
         * @param mixed $key
         * @param array $pairs
         * @return mixed
         */
        public function hMSet(mixed $key, array $pairs): mixed {}

        /**
         * `hScan($key, &$iterator, $pattern = null, $count = 0)`: `[field => value]` per step.
         *
         * @param mixed $key
         * @param mixed &$iterator
         * @param mixed $pattern
         * @param int|null $count
         * @return mixed
         */
        public function hScan(mixed $key, mixed &$iterator, mixed $pattern = null, ?int $count = null): mixed {}

        /**
         * INFO of every master: `['node_1' => [...], ...]`.
         *
         * @param mixed $sections
         * @return mixed
         */
        public function info(mixed ...$sections): mixed {}

        /**
         * Values in the order of `$keys`, `false` for a missing key.
         *
         * @param array $keys
         * @return mixed
         */
        public function mGet(array $keys): mixed {}

        /**
         * `['key' => 'value', ...]`, split over the masters.
         *
         * @param array $pairs
         * @return mixed
         */
        public function mSet(array $pairs): mixed {}

        /**
         * @param array $pairs
         * @return mixed
         */
        public function mSetNx(array $pairs): mixed {}

        /**
         * Starts a transaction: `exec()` runs the queued commands in MULTI/EXEC on the one
         * master that owns all their keys (give them one hash tag).
         *
         * @return mixed
         */
        public function multi(): mixed {}

        /**
         * Starts queueing: commands return `$this` until `exec()` sends them, per master in one
         * batch each.
         *
         * @return mixed
         */
        public function pipeline(): mixed {}

        /**
         * Any command, its reply in phpredis's generic shape.
         *
         * @param mixed $command
         * @param mixed $args
         * @return mixed
         */
        public function rawCommand(mixed $command, mixed ...$args): mixed {}

        /**
         * `sScan($key, &$iterator, $pattern = null, $count = 0)`: members per step.
         *
         * @param mixed $key
         * @param mixed &$iterator
         * @param mixed $pattern
         * @param int|null $count
         * @return mixed
         */
        public function sScan(mixed $key, mixed &$iterator, mixed $pattern = null, ?int $count = null): mixed {}

        /**
         * `scan(&$iterator, $pattern = null, $count = 0)`: the next keys of a walk over every
         * master, or `false` when the walk is over (`$iterator` is then 0). Empty steps are
         * skipped, as phpredis's `SCAN_RETRY`, so `while ($keys = $r->scan($it))` sees every key.
         *
         * @param mixed &$iterator
         * @param mixed $pattern
         * @param int|null $count
         * @return mixed
         */
        public function scan(mixed &$iterator, mixed $pattern = null, ?int $count = null): mixed {}

        /**
         * `SET`; `$options` is a TTL in seconds or phpredis's array (`['nx', 'ex' => 10]`,
         * `'xx'`, `'px' => ms`, `'exat'`, `'pxat'`, `'keepttl'`, `'get'`).
         *
         * @param mixed $key
         * @param mixed $value
         * @param mixed $options
         * @return mixed
         */
        public function set(mixed $key, mixed $value, mixed $options = null): mixed {}

        /**
         * @param mixed $keys
         * @return mixed
         */
        public function unlink(mixed ...$keys): mixed {}

        /**
         * `zAdd($key, [options,] $score1, $member1, ...)` or `zAdd($key, [options], [member => score])`.
         *
         * @param mixed $key
         * @param mixed $rest
         * @return mixed
         */
        public function zAdd(mixed $key, mixed ...$rest): mixed {}

        /**
         * @param mixed $destination
         * @param array $keys
         * @param mixed $weights
         * @param mixed $aggregate
         * @return mixed
         */
        public function zInterStore(mixed $destination, array $keys, mixed $weights = null, mixed $aggregate = null): mixed {}

        /**
         * Members by rank; with `$withScores`, `[member => score]`.
         *
         * @param mixed $key
         * @param int $start
         * @param int $end
         * @param mixed $with_scores
         * @return mixed
         */
        public function zRange(mixed $key, int $start, int $end, mixed $with_scores = null): mixed {}

        /**
         * `zRangeByScore($key, $min, $max, ['withscores' => true, 'limit' => [$offset, $count]])`.
         *
         * @param mixed $key
         * @param mixed $min
         * @param mixed $max
         * @param array|null $options
         * @return mixed
         */
        public function zRangeByScore(mixed $key, mixed $min, mixed $max, ?array $options = null): mixed {}

        /**
         * @param mixed $key
         * @param int $start
         * @param int $end
         * @param mixed $with_scores
         * @return mixed
         */
        public function zRevRange(mixed $key, int $start, int $end, mixed $with_scores = null): mixed {}

        /**
         * @param mixed $key
         * @param mixed $max
         * @param mixed $min
         * @param array|null $options
         * @return mixed
         */
        public function zRevRangeByScore(mixed $key, mixed $max, mixed $min, ?array $options = null): mixed {}

        /**
         * `zScan($key, &$iterator, $pattern = null, $count = 0)`: `[member => score]` per step.
         *
         * @param mixed $key
         * @param mixed &$iterator
         * @param mixed $pattern
         * @param int|null $count
         * @return mixed
         */
        public function zScan(mixed $key, mixed &$iterator, mixed $pattern = null, ?int $count = null): mixed {}

        /**
         * `zUnionStore($destination, $keys, $weights = null, $aggregate = null)`.
         *
         * @param mixed $destination
         * @param array $keys
         * @param mixed $weights
         * @param mixed $aggregate
         * @return mixed
         */
        public function zUnionStore(mixed $destination, array $keys, mixed $weights = null, mixed $aggregate = null): mixed {}
    }
}
