<?php
// What the PHP benches share: their servers' port, plain servers started and stopped with the
// run, the process's CPU time, a check that ends the run, the median of a round's figures.

declare(strict_types=1);

require_once __DIR__ . '/../tests/server_args.php';

function basePort(): int
{
    foreach (file(__DIR__ . '/../tests/ports.env') as $line) {
        if (str_starts_with($line, 'BENCH_BASE_PORT=')) {
            return (int) substr(trim($line), 16);
        }
    }
    throw new RuntimeException('BENCH_BASE_PORT missing from tests/ports.env');
}

function cpuSeconds(): float
{
    $usage = getrusage();
    return $usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6
        + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6;
}

function check(bool $ok, string $what): void
{
    if (!$ok) {
        fwrite(STDERR, "benchmark check failed: $what\n");
        exit(1);
    }
}

function median(array $values): float
{
    sort($values);
    $count = count($values);
    return $count % 2 ? $values[intdiv($count, 2)] : ($values[$count / 2 - 1] + $values[$count / 2]) / 2;
}

/** Plain redis-server processes on `$ports`, ready when this returns, stopped at exit. */
function startServers(array $ports, string $name): void
{
    $dir = sys_get_temp_dir() . "/rediscluster-$name-" . getmypid();
    @mkdir($dir);
    $servers = [];
    foreach ($ports as $port) {
        $probe = @fsockopen('127.0.0.1', $port, $errno, $error, 0.2);
        check($probe === false, "port $port is already in use");
        $servers[] = proc_open(
            ['redis-server', ...rediscluster_server_args(), '--port', (string) $port, '--dir', $dir],
            [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
    }
    register_shutdown_function(function () use ($servers, $dir) {
        foreach ($servers as $server) {
            proc_terminate($server);
            proc_close($server);
        }
        @rmdir($dir);
    });
    foreach ($ports as $port) {
        $deadline = microtime(true) + 10;
        while (@fsockopen('127.0.0.1', $port) === false) {
            check(microtime(true) < $deadline, "redis-server on $port did not start");
            usleep(20000);
        }
    }
}
