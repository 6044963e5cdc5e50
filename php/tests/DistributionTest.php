<?php
// The compatible distributions from PHP: for every case of tests/vectors/distributions.json
// (recorded by running phpredis's RedisArray, Predis and twemproxy against real servers),
// getNodeFor names the node the peer itself put the key on, by configuration alone.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class DistributionTest extends TestCase
{
    public function testEveryKeyLandsWhereThePeerPutIt(): void
    {
        $recorded = json_decode(file_get_contents(Servers::ROOT . '/tests/vectors/distributions.json'), true);
        $keys = array_map('base64_decode', $recorded['keys_b64']);
        $this->assertGreaterThanOrEqual(10000, count($keys));
        $this->assertEqualsCanonicalizing(['redisarray', 'predis', 'twemproxy'], array_values(array_unique(array_column($recorded['cases'], 'peer'))));
        foreach ($recorded['cases'] as $case) {
            $cluster = new RedisCluster($case['config']);
            $wrong = 0;
            $example = null;
            foreach ($keys as $at => $key) {
                $expected = 'node_' . $case['nodes'][$at];
                if (array_keys($cluster->getNodeFor($key)) !== [$expected]) {
                    $wrong++;
                    $example ??= base64_encode($key) . " on " . implode(',', array_keys($cluster->getNodeFor($key))) . ", peer: $expected";
                }
            }
            $this->assertSame(0, $wrong, "{$case['name']}: $wrong keys elsewhere, e.g. $example");
        }
    }

    public function testTheElasticSlotTableComesFromTheConfig(): void
    {
        // `foo` is in Redis Cluster slot 12182, `bar` in 5061.
        $nodes = [
            'node_1' => ['host' => '127.0.0.1', 'port' => 7001, 'slots' => '0-12181,12183-16383'],
            'node_2' => ['host' => '127.0.0.1', 'port' => 7002, 'slots' => '12182'],
        ];
        $cluster = new RedisCluster(['nodes' => $nodes, 'distribution' => 'elastic']);
        $this->assertSame(['node_2'], array_keys($cluster->getNodeFor('foo')));
        $this->assertSame(['node_1'], array_keys($cluster->getNodeFor('bar')));
        $nodes['node_1']['slots'] = '0-12181,12184-16383';
        $nodes['node_2']['slots'] = '12183';
        $this->expectException(\RedisCluster\Exception::class);
        $this->expectExceptionMessage('slot 12182 is not assigned');
        new RedisCluster(['nodes' => $nodes, 'distribution' => 'elastic']);
    }
}
