<?php
// What bench/php_bench.php and bench/php_request_bench.php share: their servers' port, the
// process's CPU time, a check that ends the run, the median of a round's figures.

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
