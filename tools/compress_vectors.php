<?php
// phpredis as the oracle for value compression (Redis::OPT_COMPRESSION: LZF, ZSTD, LZ4 and
// Redis::OPT_COMPRESSION_LEVEL). phpredis only compresses through a connected Redis object
// (setOption needs a socket), so this needs a Redis server; nothing is written to it.
//
//   php tools/compress_vectors.php generate [PORT]   > php/tests/vectors/compression.json
//       what phpredis's _compress sends for each codec, level and input; and for values that
//       may not decompress, what its reply path (_unpack, as for GET) returns (the value as it
//       is when decompression fails) and whether _uncompress throws for them.
//   php tools/compress_vectors.php verify FILE [PORT]
//       FILE holds values compressed by us (crates/php-codecs, see its tests): phpredis's
//       _uncompress must give back each original. Prints "N passed, N failed"; exit 1 on any
//       failure.
//
// PORT defaults to 7199 (a throwaway `redis-server --port 7199 --save ''` is enough). The
// vectors file is committed; crates/php-codecs/tests/phpredis_vectors.rs reads it (cargo test)
// and writes php/tests/vectors/compression-ours.json, which is what `verify` checks, e.g.:
//
//   redis-server --port 7199 --save '' --daemonize yes
//   php tools/compress_vectors.php generate > php/tests/vectors/compression.json
//   cargo test -p php-codecs          # our side; rewrites compression-ours.json if it changed
//   php tools/compress_vectors.php verify php/tests/vectors/compression-ours.json
//   redis-cli -p 7199 shutdown nosave

declare(strict_types=1);

const CODECS = [
    'lzf' => Redis::COMPRESSION_LZF,
    'zstd' => Redis::COMPRESSION_ZSTD,
    'lz4' => Redis::COMPRESSION_LZ4,
];

// Levels per codec, as OPT_COMPRESSION_LEVEL: LZF has none; ZSTD clamps to 1..=22 with < 1 as
// its default (3); LZ4 uses HC for 1..=12 and the fast compressor otherwise.
/** A value to spoil in bad_inputs(): compressed by each codec, then cut, doubled, altered. */
const SAMPLE = 'hello world hello world hello world hello world hello world hello world '
    . 'hello world hello world hello world hello world hello world hello world hello world '
    . 'hello world hello world hello world hello world hello world hello world hello world';

const LEVELS = [
    'lzf' => [0],
    'zstd' => [0, -5, 1, 3, 9, 19, 22, 100],
    'lz4' => [0, -1, 1, 2, 9, 12, 13],
];

function client(int $port, string $codec, int $level): Redis
{
    $r = new Redis();
    $r->connect('127.0.0.1', $port, 2.0);
    $r->setOption(Redis::OPT_COMPRESSION, CODECS[$codec]);
    $r->setOption(Redis::OPT_COMPRESSION_LEVEL, $level);
    return $r;
}

/** Deterministic bytes (xorshift32), so a regenerated file differs only where phpredis does. */
function pseudo_random(int $n, int $seed): string
{
    $x = $seed & 0xffffffff ?: 1;
    $out = '';
    for ($i = 0; $i < $n; $i++) {
        $x ^= ($x << 13) & 0xffffffff;
        $x ^= $x >> 17;
        $x ^= ($x << 5) & 0xffffffff;
        $out .= chr($x & 0xff);
    }
    return $out;
}

/** @return array<string, string> name => value */
function inputs(): array
{
    $text = 'The quick brown fox jumps over the lazy dog. ';
    $values = ['empty' => ''];
    foreach ([1, 2, 3, 10, 100, 10000] as $n) {
        $values["random-$n"] = pseudo_random($n, 0x9e3779b9 + $n);
        $values["repeat-$n"] = substr(str_repeat($text, intdiv($n, strlen($text)) + 1), 0, $n);
    }
    $values['zeros-100000'] = str_repeat("\0", 100000);
    $values['mixed-70000'] = str_repeat(pseudo_random(300, 7) . str_repeat('abc', 100), 117)
        . pseudo_random(100, 8);
    $values['json-like'] = json_encode(array_map(
        fn ($i) => ['id' => $i, 'name' => "user$i", 'tags' => ['a', 'b', (string) ($i % 7)]],
        range(1, 200),
    ));
    return $values;
}

/** Values handed to _uncompress that phpredis cannot (or may not) decompress. */
function bad_inputs(string $codec, int $port): array
{
    $r = client($port, $codec, 0);
    $good = $r->_compress(SAMPLE);
    $bad = [
        'empty' => '',
        'one-byte' => "\x01",
        'plain-text' => 'hello, this is not compressed',
        'random-7' => pseudo_random(7, 11),
        'random-64' => pseudo_random(64, 12),
        'truncated' => substr($good, 0, intdiv(strlen($good), 2)),
        'trailing-garbage' => $good . 'xyz',
        'doubled' => $good . $good,
        'flipped-last-byte' => substr($good, 0, -1) . chr(ord($good[strlen($good) - 1]) ^ 0x55),
    ];
    if ($codec === 'lzf') {
        $bad['literal-run'] = "\x02abc";          // a valid LZF stream of "abc"
        $bad['short-literal'] = "\x05abc";        // literal run past the input's end
        $bad['backref-before-start'] = "\x00a\x20\x05"; // back-reference before the output
    }
    if ($codec === 'lz4') {
        $bad['header-only'] = substr($good, 0, 5);
        $bad['crc-mismatch'] = chr(ord($good[0]) ^ 1) . substr($good, 1);
        $bad['length-too-big'] = lz4_header(strlen($good) * 1000) . substr($good, 5);
        $bad['length-too-small'] = lz4_header(10) . substr($good, 5);
        $bad['length-zero'] = lz4_header(0) . "\x00";
    }
    if ($codec === 'zstd') {
        $empty = $r->_compress('');
        $bad['empty-frame'] = $empty;
        $bad['empty-frame-doubled'] = $empty . $empty;
        // a frame without its content size (the ZSTD_CONTENTSIZE_UNKNOWN case)
        $bad['skippable-frame'] = "\x50\x2a\x4d\x18\x04\x00\x00\x00abcd";
    }
    return $bad;
}

/** phpredis's LZ4 header: crc8 over the native-endian int length, then that int. */
function lz4_header(int $len): string
{
    $bytes = pack('V', $len);
    $crc = 0xff;
    for ($i = 0; $i < 4; $i++) {
        $crc ^= ord($bytes[$i]);
        for ($b = 0; $b < 8; $b++) {
            $crc = ($crc & 0x80) ? (($crc << 1) ^ 0x31) & 0xff : ($crc << 1) & 0xff;
        }
    }
    return chr($crc) . $bytes;
}

function generate(int $port): void
{
    $inputs = inputs();
    $compress = [];
    $uncompress = [];
    foreach (CODECS as $codec => $code) {
        foreach (LEVELS[$codec] as $level) {
            $r = client($port, $codec, $level);
            foreach ($inputs as $name => $value) {
                $out = $r->_compress($value);
                if ($r->_uncompress($out) !== $value) {
                    throw new RuntimeException("phpredis does not round-trip $codec/$level/$name");
                }
                $compress[] = [
                    'codec' => $codec, 'code' => $code, 'level' => $level, 'input' => $name,
                    'output' => base64_encode($out),
                ];
            }
        }
        $r = client($port, $codec, 0);
        foreach (bad_inputs($codec, $port) as $name => $value) {
            // _unpack is the reply path (GET and the like): a value it cannot decompress comes
            // back as it is. _uncompress throws for the same values instead.
            try {
                $r->_uncompress($value);
                $throws = false;
            } catch (RedisException) {
                $throws = true;
            }
            $out = $r->_unpack($value);
            $entry = [
                'codec' => $codec, 'code' => $code, 'name' => $name,
                'input' => base64_encode($value), 'output' => base64_encode($out),
                'uncompress_throws' => $throws,
            ];
            if ($name === 'length-too-big') {
                // The block decodes to fewer bytes than the header says: phpredis returns the
                // header's length, the rest being whatever its allocator had there. Only the
                // decoded part is defined.
                $entry['output'] = base64_encode(substr($out, 0, strlen(SAMPLE)));
                $entry['output_len'] = strlen($out);
            }
            $uncompress[] = $entry;
        }
    }
    $doc = [
        'about' => 'phpredis ' . phpversion('redis') . ' _compress/_unpack/_uncompress; made by tools/compress_vectors.php',
        'inputs' => array_map('base64_encode', $inputs),
        'compress' => $compress,
        'uncompress' => $uncompress,
    ];
    echo json_encode($doc, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
}

/** $ours: {"values": [{codec, level, input (a name in $vectors' inputs), output}]}. */
function verify(string $ours, string $vectors, int $port): int
{
    $inputs = json_decode(file_get_contents($vectors), true, 512, JSON_THROW_ON_ERROR)['inputs'];
    $doc = json_decode(file_get_contents($ours), true, 512, JSON_THROW_ON_ERROR);
    $passed = 0;
    $failed = 0;
    foreach ($doc['values'] as $v) {
        $r = client($port, $v['codec'], 0);
        $input = base64_decode($inputs[$v['input']], true);
        $packed = base64_decode($v['output'], true);
        // Both ways phpredis reads: _uncompress, and the reply path (a real SET/GET).
        $r->rawCommand('SET', 'php-codecs:verify', $packed);
        if ($r->_uncompress($packed) === $input && $r->get('php-codecs:verify') === $input) {
            $passed++;
        } else {
            $failed++;
            fwrite(STDERR, "FAIL {$v['codec']} level {$v['level']} {$v['input']}\n");
        }
    }
    client($port, "lzf", 0)->del("php-codecs:verify");
    echo "$passed passed, $failed failed\n";
    return $failed === 0 ? 0 : 1;
}

$cmd = $argv[1] ?? '';
if ($cmd === 'generate') {
    generate((int) ($argv[2] ?? 7199));
    exit(0);
}
if ($cmd === 'verify' && isset($argv[2])) {
    exit(verify($argv[2], __DIR__ . '/../php/tests/vectors/compression.json', (int) ($argv[3] ?? 7199)));
}
fwrite(STDERR, "usage: php tools/compress_vectors.php generate [PORT] | verify FILE [PORT]\n");
exit(2);
