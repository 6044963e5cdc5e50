<?php
// Pooled connections the server closed while they sat idle (its `timeout`, an operator's
// CLIENT KILL): the next calls of every kind succeed at once, on new connections, and none runs
// twice (nothing had been written to a connection the server had closed).

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class StaleConnectionsTest extends TestCase
{
    /** One key per master. @return string[] */
    private static function keysOnEveryNode(RedisCluster $r): array
    {
        $keys = [];
        for ($i = 0; count($keys) < 3; $i++) {
            $keys[array_key_first($r->getNodeFor("k$i"))] ??= "k$i";
        }
        ksort($keys);
        return array_values($keys);
    }

    private function everyKindOfCall(RedisCluster $r, array $keys, int $expected): void
    {
        $started = microtime(true);
        foreach ($keys as $key) {
            $this->assertSame($expected, $r->incr("$key:single"), 'each INCR ran once');
        }
        $this->assertTrue($r->mSet(array_fill_keys($keys, 'v')));
        $this->assertSame(array_fill(0, count($keys), 'v'), $r->mGet($keys));
        $this->assertIsInt($r->dbSize());
        $this->assertCount(3, $r->info());
        $pipeline = $r->pipeline();
        foreach ($keys as $key) {
            $pipeline->incr("$key:pipeline")->get($key);
        }
        $this->assertSame(
            [$expected, 'v', $expected, 'v', $expected, 'v'],
            $pipeline->exec()
        );
        $this->assertLessThan(2.0, microtime(true) - $started, 'at once, not after a timeout');
    }

    public function testConnectionsTheServerClosedWhileIdleNeverFailACall(): void
    {
        Servers::flush();
        $r = new RedisCluster(Servers::config(), 0, true, ['read_timeout' => 5]);
        $keys = self::keysOnEveryNode($r);
        $this->everyKindOfCall($r, $keys, 1);

        // The servers' idle timeout closes every pooled connection.
        try {
            foreach (Servers::masters() as $port) {
                $master = Servers::direct($port);
                $master->config('SET', 'timeout', '1');
                $master->rawCommand('CONFIG', 'RESETSTAT');
            }
            $r->set('k', 1);
            usleep(2500000);
            $this->assertTrue($r->set('k', 2));
            $this->everyKindOfCall($r, $keys, 2);
        } finally {
            foreach (Servers::masters() as $port) {
                Servers::direct($port)->config('SET', 'timeout', '0');
            }
        }
        $msets = 0;
        foreach (Servers::masters() as $port) {
            $stats = Servers::direct($port)->info('commandstats');
            $msets += (int) explode(',', explode('calls=', $stats['cmdstat_mset'])[1])[0];
        }
        $this->assertSame(3, $msets, 'one MSET per master, never sent twice');

        // An operator's CLIENT KILL of every normal client.
        foreach (Servers::masters() as $port) {
            $this->assertGreaterThan(
                0,
                Servers::direct($port)->rawCommand('CLIENT', 'KILL', 'TYPE', 'normal')
            );
        }
        $this->everyKindOfCall($r, $keys, 3);
    }
}
