<?php
// Persistent engines (`['persistent' => true]` or an id): constructors with the same config and
// id share one engine (its pools: no new connection on any server), other configs or ids get
// their own, close() leaves a shared engine alone, replica reads still happen, and no password
// shows in an error.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class PersistentTest extends TestCase
{
    /** @var array<int, Redis> one connection per server, to read its counters */
    private static array $watchers = [];

    /** Connections every server of the cluster has accepted so far. */
    private static function connectionsReceived(): int
    {
        $total = 0;
        foreach ([...Servers::masters(), ...Servers::replicas()] as $port) {
            self::$watchers[$port] ??= Servers::direct($port);
            $total += (int) self::$watchers[$port]->info('stats')['total_connections_received'];
        }
        return $total;
    }

    /** A key on each master (node_1's first), each holding its own name. */
    private static function keysOnEveryMaster(): array
    {
        $r = new RedisCluster(Servers::config(), 0, true);
        $keys = [];
        for ($i = 0; count($keys) < 3; $i++) {
            $keys[array_key_first($r->getNodeFor("p$i"))] ??= "p$i";
        }
        foreach ($keys as $key) {
            $r->set($key, $key);
        }
        foreach (Servers::masters() as $port) {
            Servers::direct($port)->rawCommand('WAIT', 1, 2000);
        }
        ksort($keys);
        return array_values($keys);
    }

    private function readAll(RedisCluster $r, array $keys): void
    {
        foreach ($keys as $key) {
            $this->assertSame($key, $r->get($key));
        }
    }

    public function testSameConfigAndIdShareTheEngine(): void
    {
        $keys = self::keysOnEveryMaster();
        $first = new RedisCluster(Servers::config(), 0, true, ['persistent' => 'share']);
        $this->readAll($first, $keys);
        unset($first);
        $before = self::connectionsReceived();
        for ($i = 0; $i < 5; $i++) {
            // Another request: the same config (given in another order) and id.
            $config = ['nodes' => array_reverse(Servers::config()['nodes'], true)];
            $this->readAll(new RedisCluster($config, 0, true, ['persistent' => 'share']), $keys);
        }
        $this->assertSame($before, self::connectionsReceived(), 'no new connection');
    }

    public function testOtherConfigsIdsAndNonPersistentClientsDoNotShare(): void
    {
        $keys = self::keysOnEveryMaster();
        $this->readAll(new RedisCluster(Servers::config(), 0, true, ['persistent' => 'one']), $keys);
        $variants = [
            'another id' => [0, ['persistent' => 'two']],
            'another db' => [1, ['persistent' => 'one']],
            'another timeout' => [0, ['persistent' => 'one', 'timeout' => 2.5]],
            'true is its own id' => [0, ['persistent' => true]],
            'not persistent' => [0, []],
            'persistent false' => [0, ['persistent' => false]],
        ];
        foreach ($variants as $what => [$db, $options]) {
            $before = self::connectionsReceived();
            $r = new RedisCluster(Servers::config(), $db, true, $options);
            $r->get($keys[0]);
            $this->assertGreaterThan($before, self::connectionsReceived(), "$what: a new connection");
        }
        // A non-persistent client still works as before, each with its own connections.
        $r = new RedisCluster(Servers::config(), 0, true);
        $this->readAll($r, $keys);
        $before = self::connectionsReceived();
        $this->readAll(new RedisCluster(Servers::config(), 0, true), $keys);
        $this->assertSame($before + 3, self::connectionsReceived(), 'one per master');
    }

    public function testCloseLeavesTheSharedEngineAlone(): void
    {
        $keys = self::keysOnEveryMaster();
        $r = new RedisCluster(Servers::config(), 0, true, ['persistent' => 'close']);
        $this->readAll($r, $keys);
        $before = self::connectionsReceived();
        $this->assertTrue($r->close());
        $this->readAll(new RedisCluster(Servers::config(), 0, true, ['persistent' => 'close']), $keys);
        $this->readAll($r, $keys);
        $this->assertSame($before, self::connectionsReceived(), 'nothing was closed');
    }

    public function testAPersistentEngineReadsFromReplicasOnceChecked(): void
    {
        $keys = self::keysOnEveryMaster();
        $replicas = array_map(fn (int $port) => Servers::direct($port), Servers::replicas());
        $calls = function (Redis $replica): int {
            $stats = $replica->info('commandstats')['cmdstat_get'] ?? 'calls=0,';
            return (int) explode(',', explode('calls=', $stats)[1])[0];
        };
        // Reads go to the masters until the background check has vouched for the replicas.
        // The shards are checked at once, each on its own probe connections: the counting
        // below starts once every replica has answered (every shard's check has connected).
        $waiting = array_keys($keys);
        $deadline = microtime(true) + 5;
        do {
            $r = new RedisCluster(Servers::config(), 0, false, ['persistent' => 'replicas']);
            foreach ($waiting as $i => $node) {
                $before = $calls($replicas[$node]);
                $this->assertSame($keys[$node], $r->get($keys[$node]));
                if ($calls($replicas[$node]) > $before) {
                    unset($waiting[$i]);
                }
            }
        } while ($waiting && microtime(true) < $deadline && usleep(10000) === null);
        $this->assertSame([], array_values($waiting), 'every replica answers a persistent client');
        // Counted on the replica the reads go to: a check that times out on a loaded machine
        // reconnects its probe elsewhere, which says nothing of the shared engine.
        $connections = fn (): int => (int) $replicas[0]->info('stats')['total_connections_received'];
        $before = [$calls($replicas[0]), $connections()];
        for ($i = 0; $i < 10; $i++) {
            $r = new RedisCluster(Servers::config(), 0, false, ['persistent' => 'replicas']);
            $this->assertSame($keys[0], $r->get($keys[0]));
        }
        $this->assertSame($before[0] + 10, $calls($replicas[0]), 'every read on the replica');
        $this->assertSame($before[1], $connections(), 'no new connection');
    }

    public function testBadValuesAndPasswordsInMessages(): void
    {
        try {
            new RedisCluster(Servers::config(), 0, true, ['persistent' => 5, 'password' => 'sekrit-pw']);
            $this->fail('persistent => 5 accepted');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString("'persistent'", $e->getMessage());
            $this->assertStringNotContainsString('sekrit-pw', $e->getMessage());
        }
        $config = Servers::config();
        $config['nodes']['node_2']['port'] = Servers::deadPort();
        $config['nodes']['node_2']['password'] = 'sekrit-node';
        $r = new RedisCluster($config, 0, true, ['persistent' => 'pw', 'timeout' => 0.5, 'password' => 'sekrit-pw']);
        for ($i = 0; ; $i++) {
            if (array_key_first($r->getNodeFor("d$i")) === 'node_2') {
                break;
            }
        }
        foreach ([$r, new RedisCluster($config, 0, true, ['persistent' => 'pw', 'timeout' => 0.5, 'password' => 'sekrit-pw'])] as $client) {
            try {
                $client->get("d$i");
                $this->fail('a dead node answered');
            } catch (\RedisCluster\Exception $e) {
                $this->assertStringNotContainsString('sekrit', $e->getMessage());
                $this->assertStringNotContainsString('sekrit', (string) $e);
            }
        }
        $this->assertStringNotContainsString('sekrit', print_r($r, true));
        $this->assertStringNotContainsString('sekrit', var_export($r, true));
    }
}
