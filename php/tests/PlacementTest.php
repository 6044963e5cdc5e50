<?php
// The placement contract from PHP: every golden vector of tests/vectors/placement.json, through
// getNodeFor and through the master that physically holds the key after a write; the same for
// the opt-in placements of tests/vectors/placement_modes.json (tags kept, routing rules).

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

    /** The modes of placement_modes.json, each with its config fragment and vectors. */
    private static function modes(): array
    {
        return json_decode(file_get_contents(Servers::ROOT . '/tests/vectors/placement_modes.json'), true)['modes'];
    }

    public function testEveryModeVectorThroughGetNodeForAndTheServerThatHoldsIt(): void
    {
        $modes = self::modes();
        $this->assertSame(['keep', 'rules', 'rules-keep'], array_column($modes, 'name'));
        $masters = Servers::masters();
        $direct = array_map([Servers::class, 'direct'], $masters);
        foreach ($modes as $mode) {
            $this->assertGreaterThanOrEqual(1000, count($mode['vectors']));
            // Every cluster size, by configuration alone (nothing is connected for getNodeFor).
            for ($n = 1; $n <= 16; $n++) {
                $nodes = [];
                for ($i = 1; $i <= $n; $i++) {
                    $nodes["node_$i"] = ['host' => '127.0.0.1', 'port' => 7000 + $i];
                }
                $cluster = new RedisCluster(['nodes' => $nodes] + $mode['config'], 0, true);
                foreach ($mode['vectors'] as $row) {
                    $expected = 'node_' . $row['nodes'][$n - 1];
                    $this->assertSame([$expected], array_keys($cluster->getNodeFor(self::key($row))), "{$mode['name']} {$row['key_b64']} N=$n");
                }
            }
            // Written through the cluster: on the expected master under the stored name.
            Servers::flush();
            $r = new RedisCluster(Servers::config() + $mode['config'], 0, true);
            $pipe = $r->pipeline();
            foreach ($mode['vectors'] as $row) {
                $pipe->set(self::key($row), $row['kind']);
            }
            $this->assertNotContains(false, $pipe->exec());
            foreach ($mode['vectors'] as $row) {
                $node = $row['nodes'][2];
                $stored = base64_decode($row['stored_b64']);
                $this->assertSame(1, $direct[$node - 1]->exists($stored), "{$mode['name']}: stored on its master: {$row['key_b64']}");
            }
        }
    }

    public function testKeptTagsKeepLimitsKeysApartAndARuleKeepsALockTogether(): void
    {
        Servers::flush();
        $first = 'LIMITS:{LIMITER/user1/5/1/minute}';
        $stripping = new RedisCluster(Servers::config(), 0, true);
        $second = null;
        for ($i = 2; $second === null; $i++) {
            $candidate = "LIMITS:{LIMITER/user$i/5/1/minute}";
            if ($stripping->getNodeFor($candidate) === $stripping->getNodeFor($first)) {
                $second = $candidate;
            }
        }
        $stripping->set($first, '1');
        $stripping->set($second, '2');
        $this->assertSame('2', $stripping->get($first), 'stripped: one key LIMITS:');
        Servers::flush();
        $keeping = new RedisCluster(Servers::config() + ['tags' => 'keep'], 0, true);
        $keeping->set($first, '1');
        $keeping->set($second, '2');
        $this->assertSame(['1', '2'], $keeping->mGet([$first, $second]));
        $keys = $keeping->keys('LIMITS:*');
        sort($keys);
        $expected = [$first, $second];
        sort($expected);
        $this->assertSame($expected, $keys);
        $this->assertSame($keeping->getNodeFor('user1'), $keeping->getNodeFor('{user1}:followers'));

        $ruled = new RedisCluster(Servers::config() + ['routing_rules' => ['^lock(?:-signal)?:(.+)$']], 0, true);
        for ($i = 0; ; $i++) {
            if ($stripping->getNodeFor("lock:job$i") !== $stripping->getNodeFor("lock-signal:job$i")) {
                break;
            }
        }
        $this->assertSame($ruled->getNodeFor("lock:job$i"), $ruled->getNodeFor("lock-signal:job$i"));
        $this->assertSame($stripping->getNodeFor("job$i"), $ruled->getNodeFor("lock:job$i"));
        $this->assertSame(1, $ruled->eval("redis.call('SET', KEYS[1], 'held') return redis.call('EXISTS', KEYS[1], KEYS[2]) ", ["lock:job$i", "lock-signal:job$i"], 2));
    }

    public static function badPlacements(): array
    {
        return [
            'bad regex' => [['routing_rules' => ['^lock:(.+)$', '^lock:(.+']], 'routing rule 2'],
            'no group' => [['routing_rules' => ['^lock:.+$']], 'no capture group'],
            'empty route' => [['routing_rules' => ['^lock:()$']], 'empty route'],
            'not a list' => [['routing_rules' => '^lock:(.+)$'], 'a list of regular expressions'],
            'tags' => [['tags' => 'kept'], "'tags'"],
        ];
    }

    /** @dataProvider badPlacements */
    public function testBadPlacementOptionsAreRefusedBeforeConnecting(array $extra, string $message): void
    {
        $this->expectException(\RedisCluster\Exception::class);
        $this->expectExceptionMessage($message);
        new RedisCluster(Servers::config() + $extra);
    }
}
