<?php
// Real servers for the PHP suite, on the ports in tests/ports.env (PHP_TEST_BASE_PORT): a
// tests/cluster.sh cluster (3 masters, each with a replica) and a plain oracle server this file
// starts itself. Both are stopped at the end; nothing else is touched.

declare(strict_types=1);

require_once __DIR__ . '/../../tests/server_args.php';

if (!class_exists('RedisCluster\RedisCluster')) {
    fwrite(STDERR, "load the extension: php -d extension=PATH/librediscluster_php.so ...\n");
    exit(1);
}

final class Servers
{
    public const ROOT = __DIR__ . '/../..';
    public static int $base;
    /** @var resource|null */
    private static $oracle = null;
    private static string $stateDir;

    public static function port(string $name): int
    {
        foreach (file(self::ROOT . '/tests/ports.env') as $line) {
            if (str_starts_with($line, $name . '=')) {
                return (int) substr(trim($line), strlen($name) + 1);
            }
        }
        throw new RuntimeException("$name missing from tests/ports.env");
    }

    public static function start(): void
    {
        self::$base = self::port('PHP_TEST_BASE_PORT');
        self::$stateDir = sys_get_temp_dir() . '/rediscluster-php-' . getmypid();
        putenv('REDISCLUSTER_DEV_DIR=' . self::$stateDir);
        self::run(self::ROOT . '/tests/cluster.sh start ' . self::$base);
        $dir = self::$stateDir . '/oracle';
        @mkdir($dir, 0777, true);
        self::$oracle = proc_open(
            ['redis-server', ...rediscluster_server_args(), '--port', (string) self::oraclePort(),
             '--dir', $dir],
            [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        $deadline = microtime(true) + 10;
        while (true) {
            try {
                (self::direct(self::oraclePort()))->ping();
                break;
            } catch (RedisException $e) {
                if (microtime(true) > $deadline) {
                    throw new RuntimeException('the oracle redis-server did not start');
                }
                usleep(20000);
            }
        }
        register_shutdown_function([self::class, 'stop']);
    }

    public static function stop(): void
    {
        if (self::$oracle !== null) {
            proc_terminate(self::$oracle);
            proc_close(self::$oracle);
            self::$oracle = null;
        }
        self::run(self::ROOT . '/tests/cluster.sh stop ' . self::$base);
    }

    /** Runs a shell command; a non-zero exit is an exception with its output. */
    public static function run(string $command): void
    {
        exec($command . ' 2>&1', $output, $status);
        if ($status !== 0) {
            throw new RuntimeException("$command failed:\n" . implode("\n", $output));
        }
    }

    /** @return int[] */
    public static function masters(): array
    {
        return [self::$base, self::$base + 1, self::$base + 2];
    }

    /** @return int[] */
    public static function replicas(): array
    {
        return [self::$base + 3, self::$base + 4, self::$base + 5];
    }

    public static function oraclePort(): int
    {
        return self::$base + 6;
    }

    public static function deadPort(): int
    {
        return self::$base + 9;
    }

    /** The seed's config shape for the cluster's masters. */
    public static function config(): array
    {
        $nodes = [];
        foreach (self::masters() as $i => $port) {
            $nodes['node_' . ($i + 1)] = ['host' => '127.0.0.1', 'port' => $port];
        }
        return ['nodes' => $nodes];
    }

    /** phpredis's own client on one server: the oracle, and the way to look at a node. */
    public static function direct(int $port): Redis
    {
        $redis = new Redis();
        $redis->connect('127.0.0.1', $port, 2.0);
        return $redis;
    }

    /** Flushes every server (waiting until the replicas have it too). */
    public static function flush(): void
    {
        foreach (self::masters() as $port) {
            $master = self::direct($port);
            $master->flushAll();
            $master->rawCommand('WAIT', 1, 2000);
            $master->close();
        }
        $oracle = self::direct(self::oraclePort());
        $oracle->flushAll();
        $oracle->close();
    }
}

/**
 * A test of ours beside phpredis's `Redis` on the oracle server: both flushed, and `same()`
 * runs one call on each and asserts the same PHP value.
 */
trait BesidePhpredis
{
    private RedisCluster\RedisCluster $r;
    private Redis $oracle;

    protected function setUp(): void
    {
        Servers::flush();
        $this->r = new RedisCluster\RedisCluster(Servers::config(), 0, true, ['timeout' => 2, 'read_timeout' => 2]);
        $this->oracle = Servers::direct(Servers::oraclePort());
    }

    /** Runs the same call on both and asserts the same PHP value. */
    private function same(callable $call): mixed
    {
        $ours = $call($this->r);
        $theirs = $call($this->oracle);
        $this->assertSame($theirs, $ours);
        return $ours;
    }
}

Servers::start();
