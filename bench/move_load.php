<?php
// The PHP client of bench/move_to_redis_cluster.py: reads and writes the move's data set at a
// steady rate while the deployment moves, checking every read. The data set, the phases and
// the output are described in that script's docstring; this is the same loop as its Python
// client and crates/cluster-core/examples/move_load.rs.
//
// Usage: php -d extension=... bench/move_load.php CLIENT_ID KEYS CONTROL_DIR OUT.json OPS_PER_SECOND

declare(strict_types=1);

[, $me, $keys, $control, $out, $rate] = $argv;
[$me, $keys, $rate] = [(int) $me, (int) $keys, (float) $rate];

function kind(int $i): string
{
    $r = $i % 20;
    return match (true) {
        $r <= 11 => 's',
        $r <= 13 => 'h',
        $r <= 15 => 'l',
        $r <= 17 => 'e',
        $r === 18 => 'z',
        default => 'x',
    };
}

function key_name(int $i): string
{
    $kind = kind($i);
    return $i % 2 === 0 ? "u:$i:$kind{u:$i}" : "p:$i:$kind";
}

/** The read of key $i and what it answers. */
function read_of(int $i): array
{
    [$key, $value] = [key_name($i), "v$i"];
    return match (kind($i)) {
        's' => [['GET', $key], $value],
        'h' => [['HGET', $key, 'a'], $value],
        'l' => [['LINDEX', $key, '0'], $value],
        'e' => [['SISMEMBER', $key, $value], 1],
        'z' => [['ZSCORE', $key, $value], '1'],
        default => [['XLEN', $key], 1],
    };
}

function is_mutable(int $i): bool
{
    return $i % 20 === 1;
}

function phase_now(string $control): string
{
    $text = @file_get_contents("$control/phase");
    return $text === false ? 'before' : trim($text);
}

/** The clients' config in a phase: the old masters', the window's, then the cluster's. */
function config_file(string $phase): string
{
    return ['before' => 'before.json', 'closed' => 'cluster.json'][$phase] ?? 'window.json';
}

function client(string $control, string $phase): RedisCluster\RedisCluster
{
    $file = config_file($phase);
    $config = json_decode(file_get_contents("$control/$file"), true, 512, JSON_THROW_ON_ERROR);
    return new RedisCluster\RedisCluster($config);
}

function percentile(array $sorted, float $p): int
{
    if ($sorted === []) {
        return 0;
    }
    return $sorted[min(count($sorted) - 1, (int) (count($sorted) * $p))];
}

$owned = [];
for ($i = 1; $i < $keys; $i += 20) {
    if (intdiv($i, 20) % 3 === $me) {
        $owned[] = $i;
    }
}
mt_srand(0x5eed + $me);
$phase = phase_now($control);
$cluster = client($control, $phase);
$onConfig = config_file($phase);
$phases = [];
$lastWritten = [];
$acknowledged = [];
$uncertain = [];
$failures = [];
$wrongWrites = 0;
$start = hrtime(true);
$checked = $start;
$ops = 0;
$seq = 0;
while (true) {
    $now = hrtime(true);
    if ($now - $checked > 50_000_000) {
        $checked = $now;
        $phase = phase_now($control);
        if ($phase === 'stop') {
            break;
        }
        if (config_file($phase) !== $onConfig) {
            $cluster = client($control, $phase);
            $onConfig = config_file($phase);
        }
    }
    $ops++;
    if (mt_rand(0, 9) === 0) {
        // A write: one of this client's mutable keys, or a new key.
        $seq++;
        if (mt_rand(0, 1) === 0 && $owned !== []) {
            // APPEND depends on the value the key has, wherever it is.
            $i = $owned[mt_rand(0, count($owned) - 1)];
            $suffix = "|$me:$seq";
            [$key, $value] = [key_name($i), ($lastWritten[$i] ?? "v$i") . $suffix];
            $command = ['APPEND', $key, $suffix];
        } else {
            [$i, $key, $value] = [null, "new:$me:$seq", "n:$seq"];
            $command = ['SET', $key, $value];
        }
        try {
            $done = $cluster->rawCommand(...$command);
        } catch (RedisCluster\Exception $e) {
            $done = false;
        }
        if ($done === true || $done === 'OK' || is_int($done)) {
            if (is_int($done) && $done !== strlen($value)) {
                // APPEND's new length: the append acted on another value than the key's.
                $wrongWrites++;
                if (count($failures) < 20) {
                    $failures[] = "$phase: APPEND $key made $done bytes, not " . strlen($value);
                }
            }
            if ($i !== null) {
                $lastWritten[$i] = $value;
            }
            $acknowledged[$key] = $value;
        } else {
            $uncertain[] = [$key, $value];
            if ($i !== null) {
                // Its value is not known any more: not written again, read as anyone's.
                $owned = array_values(array_filter($owned, fn ($o) => $o !== $i));
                unset($lastWritten[$i]);
            }
        }
    } else {
        $i = mt_rand(0, $keys - 1);
        [$read, $want] = read_of($i);
        $began = hrtime(true);
        try {
            $got = $cluster->rawCommand(...$read);
        } catch (RedisCluster\Exception $e) {
            $got = $e;
        }
        $took = intdiv(hrtime(true) - $began, 1000);
        if (is_mutable($i) && is_string($got)) {
            $good = isset($lastWritten[$i])
                ? $got === $lastWritten[$i]
                : ($got === $want || str_starts_with($got, "$want|"));
        } else {
            $good = $got === $want;
        }
        $phases[$phase]['latencies'][] = $took;
        $phases[$phase]['failed'] = ($phases[$phase]['failed'] ?? 0) + ($good ? 0 : 1);
        if (!$good && count($failures) < 20) {
            $failures[] = "$phase: " . implode(' ', $read) . ' answered ' . var_export($got instanceof Throwable ? $got->getMessage() : $got, true);
        }
    }
    // A steady rate: the same load before and during the move.
    $due = $start + (int) ($ops / $rate * 1e9);
    $wait = $due - hrtime(true);
    if ($wait > 0) {
        usleep(intdiv($wait, 1000));
    }
}
$summary = [];
foreach ($phases as $name => $phaseData) {
    $sorted = $phaseData['latencies'];
    sort($sorted);
    $summary[$name] = [
        'reads' => count($sorted),
        'failed' => $phaseData['failed'],
        'p50_us' => percentile($sorted, 0.50),
        'p99_us' => percentile($sorted, 0.99),
        'max_us' => $sorted === [] ? 0 : end($sorted),
    ];
}
file_put_contents($out, json_encode([
    'client' => 'php',
    'phases' => (object) $summary,
    'wrong_writes' => $wrongWrites,
    'failures' => $failures,
    'acknowledged' => (object) $acknowledged,
    'uncertain' => $uncertain,
], JSON_THROW_ON_ERROR));
