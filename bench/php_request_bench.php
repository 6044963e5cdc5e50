<?php
// PHP per-request benchmark (not a test): what a PHP-FPM request pays to build a client and
// read one key, ours against phpredis, in one run.
//
// Each simulated request builds a client, runs one GET and drops the client (as the end of a
// request does). Clients, side by side:
//   persistent    RedisCluster\RedisCluster, ['persistent' => true]: the engine of the first
//                 request is reused (pools, replica checks)
//   replicas      RedisCluster\RedisCluster, replica reads on (the default)
//   mastersOnly   RedisCluster\RedisCluster, reads on the masters
//   pconnect      phpredis: new Redis + pconnect (the key's master) + GET
//   connect       phpredis: new Redis + connect (the key's master) + GET
//   RedisArray    phpredis: new RedisArray over the three masters + GET
// The servers are three masters, each with a replica (so `replicas` really has replicas to
// check and read from). Rounds are interleaved (every client runs its requests once per round,
// in a rotating order); each figure is the median over the rounds of wall time per request, and
// this process's CPU time per request (getrusage: our replica checks run in threads of this
// process, so they count). Ratios: this client's time / the pconnect or RedisArray time (< 1:
// faster). The value read is checked outside the timed part.
//
// Run: make bench-php-request, or php -d extension=target/release/librediscluster_php.so
//      bench/php_request_bench.php [--rounds=9] [--n=400] [--quick]
// It starts its own six redis-server processes on BENCH_BASE_PORT..+5 (tests/ports.env) and
// stops them at the end.

declare(strict_types=1);

require_once __DIR__ . '/php_bench_support.php';

$options = getopt('', ['rounds:', 'n:', 'quick']);
$rounds = (int) ($options['rounds'] ?? 9);
$n = (int) ($options['n'] ?? 400);
if (isset($options['quick'])) {
    [$rounds, $n] = [3, 100];
}

$base = basePort();
$masters = [$base, $base + 1, $base + 2];
$replicas = [$base + 3, $base + 4, $base + 5];
$dir = sys_get_temp_dir() . '/rediscluster-php-request-bench-' . getmypid();
$servers = [];
register_shutdown_function(function () use (&$servers, $dir) {
    foreach ($servers as $server) {
        proc_terminate($server);
        proc_close($server);
    }
    foreach (glob("$dir/*/*") ?: [] as $file) {
        @unlink($file);
    }
    foreach (glob("$dir/*") ?: [] as $sub) {
        @rmdir($sub);
    }
    @rmdir($dir);
});
foreach ([...$masters, ...$replicas] as $i => $port) {
    $probe = @fsockopen('127.0.0.1', $port, $errno, $error, 0.2);
    check($probe === false, "port $port is already in use");
    $own = "$dir/$port";
    @mkdir($own, 0777, true);
    $args = ['redis-server', ...rediscluster_server_args(), '--port', (string) $port, '--dir', $own];
    if ($i >= 3) {
        array_push($args, '--replicaof', '127.0.0.1', (string) $masters[$i - 3]);
    }
    $servers[] = proc_open($args, [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
}
foreach ([...$masters, ...$replicas] as $port) {
    $deadline = microtime(true) + 10;
    while (@fsockopen('127.0.0.1', $port) === false) {
        check(microtime(true) < $deadline, "redis-server on $port did not start");
        usleep(20000);
    }
}
foreach ($replicas as $port) {
    $deadline = microtime(true) + 10;
    $r = new Redis();
    $r->connect('127.0.0.1', $port);
    while (($r->info('replication')['master_link_status'] ?? '') !== 'up') {
        check(microtime(true) < $deadline, "replica on $port did not sync");
        usleep(20000);
    }
}

$nodes = [];
foreach ($masters as $i => $port) {
    $nodes['node_' . ($i + 1)] = ['host' => '127.0.0.1', 'port' => $port];
}
$config = ['nodes' => $nodes];
$key = 'bench:request:key';
$value = str_repeat('v', 16);
// Written on every master (RedisArray places keys its own way), and replicated.
foreach ($masters as $port) {
    $direct = new Redis();
    $direct->connect('127.0.0.1', $port);
    check($direct->set($key, $value) === true, 'SET answers OK');
    check($direct->rawCommand('WAIT', 1, 2000) === 1, 'the key reached its replica');
    $direct->close();
}
$placed = (new RedisCluster\RedisCluster($config, 0, true))->getNodeFor($key);
$home = $placed[array_key_first($placed)]['port'];
$homeIndex = array_search($home, $masters, true);
$hosts = array_map(fn ($p) => "127.0.0.1:$p", $masters);

$requests = [
    'persistent' => fn () => (new RedisCluster\RedisCluster($config, 0, false, ['persistent' => true]))->get($key),
    'replicas' => fn () => (new RedisCluster\RedisCluster($config))->get($key),
    'mastersOnly' => fn () => (new RedisCluster\RedisCluster($config, 0, true))->get($key),
    'pconnect' => function () use ($home, $key) {
        $r = new Redis();
        $r->pconnect('127.0.0.1', $home);
        return $r->get($key);
    },
    'connect' => function () use ($home, $key) {
        $r = new Redis();
        $r->connect('127.0.0.1', $home);
        return $r->get($key);
    },
    'RedisArray' => fn () => (new RedisArray($hosts))->get($key),
];
foreach ($requests as $name => $request) {
    check($request() === $value, "$name reads the value");
}

// Do replica reads happen? The GETs the key's replica answered, per client (not timed).
$getCalls = function (int $port): int {
    $r = new Redis();
    $r->connect('127.0.0.1', $port);
    $stats = $r->info('commandstats')['cmdstat_get'] ?? 'calls=0,';
    return (int) explode(',', explode('calls=', $stats)[1])[0];
};

$samples = [];
$names = array_keys($requests);
$replicaReads = array_fill_keys($names, 0);
for ($round = 0; $round < $rounds; $round++) {
    $shift = $round % count($names);
    $order = array_merge(array_slice($names, $shift), array_slice($names, 0, $shift));
    foreach ($order as $name) {
        $request = $requests[$name];
        $replicaBefore = $getCalls($replicas[$homeIndex]);
        $wall = hrtime(true);
        $cpu = cpuSeconds();
        for ($i = 0; $i < $n; $i++) {
            $request();
        }
        $samples[$name][] = [(hrtime(true) - $wall) / 1e9 / $n, (cpuSeconds() - $cpu) / $n];
        $replicaReads[$name] += $getCalls($replicas[$homeIndex]) - $replicaBefore;
    }
}

$figures = [];
foreach ($samples as $name => $runs) {
    $figures[$name] = [median(array_column($runs, 0)), median(array_column($runs, 1))];
}
$goals = [
    'persistent' => ['pconnect', '<= 1.0x pconnect'],
    'replicas' => ['RedisArray', '<= 1.0x RedisArray'],
];
printf("rounds: %d x %d requests per client; medians; one request = new client + one GET\n", $rounds, $n);
printf("servers: 3 masters + 3 replicas; 'from replica': the share of the GETs the key's replica answered\n");
printf("%-12s %9s %10s %12s %14s %13s  %s\n", 'client', 'us/req', 'cpu us/req', 'x pconnect', 'x RedisArray', 'from replica', 'goal');
foreach ($figures as $name => [$wall, $cpu]) {
    $goal = '';
    if (isset($goals[$name])) {
        [$against, $text] = $goals[$name];
        $goal = $text . ($wall <= $figures[$against][0] ? ' (met)' : ' (missed)');
    }
    printf("%-12s %9.1f %10.1f %12.2f %14.2f %12.0f%%  %s\n", $name, $wall * 1e6, $cpu * 1e6,
        $wall / $figures['pconnect'][0], $wall / $figures['RedisArray'][0],
        100 * $replicaReads[$name] / ($rounds * $n), $goal);
}
