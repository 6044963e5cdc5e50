<?php
// The placement contract from PHP: every golden vector of tests/vectors/placement.json, through
// getNodeFor and through the master that physically holds the key after a write.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class PlacementTest extends TestCase
{
    private static array $vectors;

    public static function setUpBeforeClass(): void
    {
        $file = json_decode(file_get_contents(Servers::ROOT . '/tests/vectors/placement.json'), true);
        self::$vectors = $file['vectors'];
    }

    /** The key as a PHP user passes it: an int, or the exact bytes as a string. */
    private static function key(array $row): int|string
    {
        return isset($row['int']) ? $row['int'] : base64_decode($row['key_b64']);
    }

    public function testEveryVectorThroughGetNodeForAndTheServerThatHoldsIt(): void
    {
        Servers::flush();
        $this->assertGreaterThan(800, count(self::$vectors));
        $masters = Servers::masters();
        // Every cluster size the file covers, from 1 to 16 masters, by configuration alone
        // (nothing is connected for getNodeFor).
        for ($n = 1; $n <= 16; $n++) {
            $nodes = [];
            for ($i = 1; $i <= $n; $i++) {
                $nodes["node_$i"] = ['host' => '127.0.0.1', 'port' => 7000 + $i];
            }
            $cluster = new RedisCluster(['nodes' => $nodes], 0, true);
            foreach (self::$vectors as $row) {
                $expected = 'node_' . $row['nodes'][$n - 1];
                $this->assertSame([$expected], array_keys($cluster->getNodeFor(self::key($row))), $row['key_b64'] . " N=$n");
            }
        }
        $r = new RedisCluster(Servers::config(), 0, true);
        $direct = array_map([Servers::class, 'direct'], $masters);
        $pipe = $r->pipeline();
        foreach (self::$vectors as $row) {
            $pipe->set(self::key($row), $row['kind']);
        }
        $this->assertNotContains(false, $pipe->exec());
        foreach (self::$vectors as $row) {
            $node = $row['nodes'][2];
            $this->assertSame(['node_' . $node => ['host' => '127.0.0.1', 'port' => $masters[$node - 1]]], $r->getNodeFor(self::key($row)));
            $stored = base64_decode($row['stored_b64']);
            $this->assertSame(1, $direct[$node - 1]->exists($stored), 'stored on its master: ' . $row['key_b64']);
        }
    }

    public function testTags(): void
    {
        $r = new RedisCluster(Servers::config());
        $this->assertSame($r->getNodeFor('foo'), $r->getNodeFor('bar{foo}'));
        $this->assertSame($r->getNodeFor('{b}'), $r->getNodeFor('{b}'));
        $this->assertSame($r->getNodeFor('42'), $r->getNodeFor(42));
    }
}
