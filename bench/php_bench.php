<?php
// PHP client benchmark (not a test): the rediscluster extension vs phpredis, in one run.
//
// Clients, side by side in the same run:
//   ours         RedisCluster\RedisCluster over three masters (mastersOnly)
//   RedisArray   phpredis's RedisArray over the same three masters (its own hashing)
//   Redis        phpredis's Redis on one server: the baseline
// Workloads: SET and GET (N single calls), MSET and MGET of 1000 keys (N/1000 times), a
// pipeline of 10k SET. Rounds are interleaved (every client runs every workload once per round,
// in a rotating order) and each figure is the median over the rounds; wall time and this
// process's CPU time (getrusage) per op are reported, with ratios against phpredis on one
// server (> 1: faster). Every workload's result is checked outside the timed part.
//
// Run: make bench-php, or php -d extension=target/release/librediscluster_php.so
//      bench/php_bench.php [--rounds=5] [--n=20000] [--quick]
// It starts its own four redis-server processes on BENCH_BASE_PORT..+3 (tests/ports.env) and
// stops them at the end.

declare(strict_types=1);

require_once __DIR__ . '/php_bench_support.php';

$options = getopt('', ['rounds:', 'n:', 'quick']);
$rounds = (int) ($options['rounds'] ?? 5);
$n = (int) ($options['n'] ?? 20000);
$pipelineSize = 10000;
if (isset($options['quick'])) {
    [$rounds, $n, $pipelineSize] = [2, 2000, 2000];
}
const BATCH = 1000;
$targets = ['SET' => 'RedisArray', 'GET' => 'RedisArray', 'MSET x1000' => 'Redis', 'MGET x1000' => 'Redis', 'pipeline 10k SET' => 'RedisArray'];

$base = basePort();
$masters = [$base, $base + 1, $base + 2];
$single = $base + 3;
startServers([...$masters, $single], 'php-bench');

$nodes = [];
foreach ($masters as $i => $port) {
    $nodes['node_' . ($i + 1)] = ['host' => '127.0.0.1', 'port' => $port];
}
$one = new Redis();
$one->connect('127.0.0.1', $single);
$clients = [
    'ours' => new RedisCluster\RedisCluster(['nodes' => $nodes], 0, true),
    'RedisArray' => new RedisArray(array_map(fn ($p) => "127.0.0.1:$p", $masters), ['lazy_connect' => false]),
    'Redis' => $one,
];

$keys = [];
for ($i = 0; $i < max($n, $pipelineSize, BATCH); $i++) {
    $keys[] = "bench:key:$i";
}
$value = str_repeat('v', 16);
$mapping = array_fill_keys(array_slice($keys, 0, BATCH), $value);
$repeats = max(1, intdiv($n, BATCH));

$workloads = [
    'SET' => [$n, function ($c) use ($keys, $n, $value) {
        for ($i = 0; $i < $n; $i++) {
            $c->set($keys[$i], $value);
        }
    }],
    'GET' => [$n, function ($c) use ($keys, $n, $value) {
        for ($i = 0; $i < $n; $i++) {
            $got = $c->get($keys[$i]);
        }
        check($got === $value, 'GET returns what SET wrote');
    }],
    'MSET x1000' => [$repeats * BATCH, function ($c) use ($mapping, $repeats) {
        for ($i = 0; $i < $repeats; $i++) {
            check($c->mSet($mapping) !== false, 'MSET answers OK');
        }
    }],
    'MGET x1000' => [$repeats * BATCH, function ($c) use ($keys, $repeats, $value) {
        $batch = array_slice($keys, 0, BATCH);
        for ($i = 0; $i < $repeats; $i++) {
            $got = $c->mGet($batch);
        }
        check($got === array_fill(0, BATCH, $value), 'MGET returns what MSET wrote');
    }],
    'pipeline 10k SET' => [$pipelineSize, function ($c) use ($keys, $pipelineSize, $value) {
        if ($c instanceof RedisArray) {
            // RedisArray pipelines per node: one batch per master the keys land on.
            $byNode = [];
            for ($i = 0; $i < $pipelineSize; $i++) {
                $byNode[$c->_target($keys[$i])][] = $keys[$i];
            }
            $replies = [];
            foreach ($byNode as $host => $hostKeys) {
                $pipe = $c->multi($host, Redis::PIPELINE);
                foreach ($hostKeys as $key) {
                    $pipe->set($key, $value);
                }
                $replies = array_merge($replies, $pipe->exec());
            }
        } else {
            $pipe = $c->pipeline();
            for ($i = 0; $i < $pipelineSize; $i++) {
                $pipe->set($keys[$i], $value);
            }
            $replies = $pipe->exec();
        }
        check(count($replies) === $pipelineSize && !in_array(false, $replies, true), 'the pipeline answers OK');
    }],
];

$samples = [];
$names = array_keys($clients);
for ($round = 0; $round < $rounds; $round++) {
    $order = array_merge(array_slice($names, $round % 3), array_slice($names, 0, $round % 3));
    foreach ($workloads as $workload => [$ops, $run]) {
        foreach ($order as $name) {
            $wall = hrtime(true);
            $cpu = cpuSeconds();
            $run($clients[$name]);
            $samples[$workload][$name][] = [(hrtime(true) - $wall) / 1e9 / $ops, (cpuSeconds() - $cpu) / $ops];
        }
    }
}

printf("rounds: %d; medians; ratio = phpredis Redis (one server) time / this client's time (> 1: faster)\n", $rounds);
printf("%-17s %-11s %10s %8s %10s %6s %9s  %s\n", 'workload', 'client', 'ops/s', 'us/op', 'cpu us/op', 'ratio', 'cpu ratio', 'target for ours');
foreach ($samples as $workload => $byClient) {
    $base = median(array_column($byClient['Redis'], 0));
    $baseCpu = median(array_column($byClient['Redis'], 1));
    $figures = [];
    foreach ($byClient as $name => $runs) {
        $figures[$name] = [median(array_column($runs, 0)), median(array_column($runs, 1))];
    }
    foreach ($figures as $name => [$wall, $cpu]) {
        $target = '';
        if ($name === 'ours') {
            $against = $targets[$workload];
            $met = $wall <= $figures[$against][0] && ($against === 'Redis' || $wall <= $figures['RedisArray'][0]);
            $target = ">= $against" . ($against === 'Redis' ? ' and RedisArray' : '') . ($met ? ' (met)' : ' (below)');
        }
        printf("%-17s %-11s %10.0f %8.2f %10.2f %6.2f %9.2f  %s\n", $workload, $name, 1 / $wall, $wall * 1e6, $cpu * 1e6, $base / $wall, $cpu > 0 ? $baseCpu / $cpu : 0, $target);
    }
}
