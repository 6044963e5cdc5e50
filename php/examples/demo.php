<?php
// The PHP part of `make demo`: the keys the Rust demo placed, written again from PHP.
//
// Usage: php -d extension=.../librediscluster_php.so php/examples/demo.php CLUSTER.json PLACEMENTS.json
//
// For every key: the node Rust computed, the node PHP computes (getNodeFor), and the master
// that really holds the key's stored name after PHP wrote it (asked directly). They must agree.

declare(strict_types=1);

[$_, $clusterFile, $placementsFile] = $argv + [null, null, null];
if ($placementsFile === null) {
    fwrite(STDERR, "usage: demo.php CLUSTER.json PLACEMENTS.json\n");
    exit(2);
}
$cluster = json_decode(file_get_contents($clusterFile), true);
$placements = json_decode(file_get_contents($placementsFile), true);
$r = new RedisCluster\RedisCluster($cluster, 0, true);
$direct = [];
foreach ($cluster['nodes'] as $name => $node) {
    $direct[$name] = new Redis();
    $direct[$name]->connect($node['host'], $node['port'], 2.0);
}
printf("%-22s %-20s %-7s %-7s %-8s %s\n", 'key', 'stored as', 'rust', 'php', 'held by', 'agree');
$disagreements = 0;
foreach ($placements as $placement) {
    $key = $placement['key'];
    $value = "php wrote $key";
    $r->set($key, $value);
    $phpNode = array_key_first($r->getNodeFor($key));
    $holders = [];
    foreach ($direct as $name => $master) {
        if ($master->get($placement['stored']) === $value) {
            $holders[] = $name;
        }
    }
    $agree = $placement['node'] === $phpNode && $holders === [$phpNode];
    $disagreements += $agree ? 0 : 1;
    printf("%-22s %-20s %-7s %-7s %-8s %s\n", var_export($key, true), var_export($placement['stored'], true),
        $placement['node'], $phpNode, implode(',', $holders) ?: '-', $agree ? 'yes' : 'NO');
}
echo 'mGet from PHP: ', json_encode($r->mGet(['bar{foo}', 'foo'])), "\n";
echo 'DEL of all ', count($placements), ' keys from PHP = ', $r->del(array_column($placements, 'key')), "\n";
if ($disagreements > 0) {
    fwrite(STDERR, "$disagreements keys disagree between Rust and PHP\n");
    exit(1);
}
echo "Rust and PHP place every key on the same master, under the same stored name\n";
