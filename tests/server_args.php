<?php
// tests/redis-server.args for PHP (the PHP tests' own servers and bench/php_bench.php): the
// options every redis-server of the repository shares, `--name value` per line, "" the empty
// value.

declare(strict_types=1);

/** @return list<string> */
function rediscluster_server_args(): array
{
    $args = [];
    foreach (file(__DIR__ . '/redis-server.args') as $line) {
        $line = trim($line);
        if ($line === '' || $line[0] === '#') {
            continue;
        }
        [$name, $value] = explode(' ', $line, 2);
        $value = trim($value);
        array_push($args, $name, $value === '""' ? '' : $value);
    }
    return $args;
}
