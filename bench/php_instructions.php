<?php
// The PHP clients' own work per call, in instructions (not a test): what each client spends in
// user space (PHP, the extension, libc; not the kernel, not the servers) for one call of each
// workload, counted by callgrind, so that a change can be judged on a shared 2-core machine
// where wall-clock benches move by 10-30 % between runs.
//
// Clients, side by side, each in its own callgrind run:
//   ours         RedisCluster\RedisCluster over three masters (mastersOnly)
//   RedisArray   phpredis's RedisArray over the same three masters
//   Redis        phpredis's Redis on one server: the baseline
// Workloads: MGET and MSET of 1000 keys, a pipeline of 1000 SETs (RedisArray: one per master,
// as bench/php_bench.php runs it), GET, SET. Each figure is (instructions of a run of N calls
// - instructions of a run of 0 calls) / N: start-up, connecting and warming up cancel out.
//
// Run: make bench-php-instructions, or php -d extension=target/release/librediscluster_php.so
//      bench/php_instructions.php [--calls=20]
// It needs valgrind. It starts its own four redis-server processes on BENCH_BASE_PORT..+3
// (tests/ports.env) and stops them at the end.

declare(strict_types=1);

require_once __DIR__ . '/php_bench_support.php';

const WORKLOADS = ['MGET x1000', 'MSET x1000', 'pipeline 1000 SET', 'GET', 'SET'];
const CLIENTS = ['ours', 'RedisArray', 'Redis'];
const KEYS = 1000;

$options = getopt('', ['calls:', 'child:', 'workload:', 'ops:']);
$base = basePort();
$masters = [$base, $base + 1, $base + 2];
$single = $base + 3;

if (isset($options['child'])) {
    runChild($options['child'], $options['workload'], (int) $options['ops'], $masters, $single);
    exit(0);
}

$calls = (int) ($options['calls'] ?? 20);
check(trim((string) shell_exec('command -v valgrind')) !== '', 'valgrind is installed');
startServers([...$masters, $single], 'php-instructions');

$self = [PHP_BINARY, '-d', 'extension=' . extensionPath(), __FILE__];
printf("calls: %d per run; instructions per call (callgrind, user space of the PHP process)\n", $calls);
printf("%-18s %-11s %14s %12s\n", 'workload', 'client', 'instructions', 'vs Redis');
foreach (WORKLOADS as $workload) {
    // Single calls are cheap: more of them for a steady figure.
    $ops = in_array($workload, ['GET', 'SET'], true) ? $calls * 100 : $calls;
    $figures = [];
    foreach (CLIENTS as $client) {
        $run = fn (int $n) => instructions([...$self, '--child=' . $client, '--workload=' . $workload, '--ops=' . $n]);
        $figures[$client] = ($run($ops) - $run(0)) / $ops;
    }
    foreach ($figures as $client => $figure) {
        printf("%-18s %-11s %14.0f %11.2fx\n", $workload, $client, $figure, $figure / $figures['Redis']);
    }
}

/** The extension under test, for the child runs (PHP does not tell where it loaded one from:
 * the Makefile says, else the release build). */
function extensionPath(): string
{
    $path = getenv('REDISCLUSTER_PHP_EXT') ?: __DIR__ . '/../target/release/librediscluster_php.so';
    check(is_file($path), "the extension $path exists (set REDISCLUSTER_PHP_EXT)");
    check(class_exists(RedisCluster\RedisCluster::class), 'the extension is loaded');
    return $path;
}

/** The instructions callgrind counted for a command's whole run. */
function instructions(array $command): int
{
    $process = proc_open(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', ...$command],
        [1 => ['file', '/dev/null', 'w'], 2 => ['pipe', 'w']],
        $pipes
    );
    $log = stream_get_contents($pipes[2]);
    fclose($pipes[2]);
    check(proc_close($process) === 0, "the child run succeeded:\n$log");
    check(preg_match('/Collected : (\d+)/', $log, $match) === 1, "callgrind reported a total:\n$log");
    return (int) $match[1];
}

/** One client running `$ops` calls of a workload, after a warm-up of every path. */
function runChild(string $client, string $workload, int $ops, array $masters, int $single): void
{
    $nodes = [];
    foreach ($masters as $i => $port) {
        $nodes['node_' . ($i + 1)] = ['host' => '127.0.0.1', 'port' => $port];
    }
    $c = match ($client) {
        'ours' => new RedisCluster\RedisCluster(['nodes' => $nodes], 0, true),
        'RedisArray' => new RedisArray(array_map(fn ($p) => "127.0.0.1:$p", $masters), ['lazy_connect' => false]),
        'Redis' => (function () use ($single) {
            $one = new Redis();
            $one->connect('127.0.0.1', $single);
            return $one;
        })(),
    };
    $keys = [];
    for ($i = 0; $i < KEYS; $i++) {
        $keys[] = "bench:key:$i";
    }
    $value = str_repeat('v', 16);
    $mapping = array_fill_keys($keys, $value);
    $byNode = [];
    if ($c instanceof RedisArray) {
        foreach ($keys as $key) {
            $byNode[$c->_target($key)][] = $key;
        }
    }
    $call = match ($workload) {
        'MGET x1000' => fn () => $c->mGet($keys),
        'MSET x1000' => fn () => $c->mSet($mapping),
        'GET' => fn () => $c->get($keys[0]),
        'SET' => fn () => $c->set($keys[0], $value),
        'pipeline 1000 SET' => $c instanceof RedisArray
            ? function () use ($c, $byNode, $value) {
                foreach ($byNode as $host => $hostKeys) {
                    $pipe = $c->multi($host, Redis::PIPELINE);
                    foreach ($hostKeys as $key) {
                        $pipe->set($key, $value);
                    }
                    $pipe->exec();
                }
            }
            : function () use ($c, $keys, $value) {
                $pipe = $c->pipeline();
                foreach ($keys as $key) {
                    $pipe->set($key, $value);
                }
                $pipe->exec();
            },
    };
    $c->mSet($mapping);
    $call();
    check($c->mGet($keys) === array_fill(0, KEYS, $value), "$client reads back what it wrote");
    for ($i = 0; $i < $ops; $i++) {
        $call();
    }
}
