<?php
// The PHP side of tests/cross_language: writes or reads a list of keys through the extension.
//
// Usage: php -d extension=... client.php CLUSTER.json KEYS.json write PREFIX | read
// (the same contract as crates/cluster-core/examples/cross_language.rs; keys and values as
// base64).

declare(strict_types=1);

[$_, $configFile, $keysFile, $action] = $argv + [null, null, null, null];
if ($action === null) {
    fwrite(STDERR, "usage: client.php CLUSTER.json KEYS.json write PREFIX | read\n");
    exit(2);
}
$r = new RedisCluster\RedisCluster(json_decode(file_get_contents($configFile), true), 0, true);
$keys = array_map('base64_decode', json_decode(file_get_contents($keysFile), true));
if ($action === 'write') {
    $prefix = $argv[4];
    foreach ($keys as $i => $key) {
        $r->set($key, "$prefix:$i");
    }
} else {
    $out = [];
    foreach ($keys as $key) {
        $value = $r->get($key);
        $out[] = [array_key_first($r->getNodeFor($key)), $value === false ? null : base64_encode($value)];
    }
    echo json_encode($out), "\n";
}
