<?php
// Writes every key of a file through a peer's own client-side sharding, for
// tools/gen_distribution_vectors.py (which then finds each key on the servers).
//
//   php tools/distribution_peers.php redisarray|redisarray-consistent|predis KEYS_FILE HOST:PORT[:WEIGHT]...
//
// KEYS_FILE holds one base64 key per line. The peers are the Debian packages: phpredis's
// RedisArray (php-redis) and Predis (php-nrk-predis, /usr/share/php/Predis).

[$self, $peer, $keysFile] = array_slice($argv, 0, 3);
$servers = array_slice($argv, 3);
$keys = array_map('base64_decode', file($keysFile, FILE_IGNORE_NEW_LINES));

switch ($peer) {
    case 'redisarray':
    case 'redisarray-consistent':
        $hosts = array_map(fn ($s) => implode(':', array_slice(explode(':', $s), 0, 2)), $servers);
        $array = new RedisArray($hosts, ['consistent' => $peer === 'redisarray-consistent']);
        foreach ($keys as $key) {
            if ($array->set($key, '1') !== true) {
                fwrite(STDERR, "RedisArray refused a key\n");
                exit(1);
            }
        }
        break;
    case 'predis':
        require_once '/usr/share/php/Predis/Autoloader.php';
        Predis\Autoloader::register();
        $parameters = array_map(function ($s) {
            $parts = explode(':', $s);
            $p = ['host' => $parts[0], 'port' => (int) $parts[1]];
            if (isset($parts[2])) {
                $p['weight'] = (int) $parts[2];
            }
            return $p;
        }, $servers);
        $client = new Predis\Client($parameters);
        foreach ($keys as $key) {
            $client->set($key, '1');
        }
        break;
    default:
        fwrite(STDERR, "unknown peer $peer\n");
        exit(2);
}
echo count($keys), "\n";
