<?php
// Replicas (reads answered by the replica, writes by the master, mastersOnly, master_of), bad
// configurations, dead nodes, and no password in any message.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class ReplicasAndErrorsTest extends TestCase
{
    private static function getCalls(int $port): int
    {
        $stats = Servers::direct($port)->info('commandstats');
        return isset($stats['cmdstat_get']) ? (int) explode(',', explode('calls=', $stats['cmdstat_get'])[1])[0] : 0;
    }

    /** A key on node_1, written and replicated. */
    private static function placedKey(): string
    {
        Servers::flush();
        $r = new RedisCluster(Servers::config(), 0, true);
        for ($i = 0; ; $i++) {
            if (array_key_first($r->getNodeFor("k$i")) === 'node_1') {
                $r->set("k$i", 'v');
                Servers::direct(Servers::masters()[0])->rawCommand('WAIT', 1, 2000);
                return "k$i";
            }
        }
    }

    /**
     * A client checks its replicas in the background, shortly after it is built (reads go to
     * the masters until then): reads until one is answered by the replica (at most 5 s).
     */
    private static function replicasChecked(RedisCluster $r, string $key): RedisCluster
    {
        $deadline = microtime(true) + 5;
        do {
            $before = self::getCalls(Servers::replicas()[0]);
            $r->get($key);
            if (self::getCalls(Servers::replicas()[0]) > $before) {
                break;
            }
            usleep(10000);
        } while (microtime(true) < $deadline);
        return $r;
    }

    private function readsBy(RedisCluster $r, string $key): array
    {
        [$master, $replica] = [Servers::masters()[0], Servers::replicas()[0]];
        $before = [self::getCalls($master), self::getCalls($replica)];
        for ($i = 0; $i < 20; $i++) {
            $this->assertSame('v', $r->get($key));
        }
        return [self::getCalls($master) - $before[0], self::getCalls($replica) - $before[1]];
    }

    public function testDiscoveredReplicasAnswerReadsAndMastersOnlyKeepsThemOnMasters(): void
    {
        $key = self::placedKey();
        $r = self::replicasChecked(new RedisCluster(Servers::config()), $key);
        $this->assertSame([0, 20], $this->readsBy($r, $key));
        $this->assertSame([20, 0], $this->readsBy(new RedisCluster(Servers::config(), 0, true), $key));
    }

    public function testMasterOfNamesTheReplicas(): void
    {
        $key = self::placedKey();
        $config = Servers::config();
        foreach (Servers::replicas() as $i => $port) {
            $config['nodes']['replica_' . ($i + 1)] = ['host' => '127.0.0.1', 'port' => $port];
            $config['master_of']['node_' . ($i + 1)] = 'replica_' . ($i + 1);
        }
        $r = self::replicasChecked(new RedisCluster($config), $key);
        $this->assertSame(['node_1'], array_keys($r->getNodeFor($key)));
        $this->assertSame([0, 20], $this->readsBy($r, $key));
    }

    public function badConfigs(): array
    {
        return [
            'no nodes' => [[], "no 'nodes'"],
            'empty nodes' => [['nodes' => []], "'nodes' is empty"],
            'gap' => [['nodes' => ['node_2' => ['host' => 'h', 'port' => 1]]], 'node_1..node_1'],
            'port text' => [['nodes' => ['node_1' => ['host' => 'h', 'port' => 'x']]], "'port' must be an integer"],
            'port float' => [['nodes' => ['node_1' => ['host' => 'h', 'port' => 7000.5]]], "'port' must be an integer"],
            'unknown option' => [['nodes' => ['node_1' => ['host' => 'h', 'port' => 1, 'colour' => 1]]], 'unknown option'],
            'master_of' => [['nodes' => ['node_1' => ['host' => 'h', 'port' => 1]], 'master_of' => ['node_1' => 'node_9']], 'node_9'],
        ];
    }

    /** @dataProvider badConfigs */
    public function testBadConfigsAreRefusedWhole(array $config, string $message): void
    {
        $this->expectException(\RedisCluster\Exception::class);
        $this->expectExceptionMessage($message);
        new RedisCluster($config);
    }

    public function testExceptionsAreRuntimeExceptionsAndLoadBesidePhpredis(): void
    {
        try {
            new RedisCluster(['nodes' => []]);
            $this->fail('an empty config must be refused');
        } catch (\RuntimeException $e) {
            $this->assertInstanceOf(\RedisCluster\Exception::class, $e);
        }
        $this->assertTrue(is_subclass_of(\RedisCluster\ConnectionException::class, \RedisCluster\Exception::class));
        $this->assertTrue(is_subclass_of(\RedisCluster\Exception::class, \RuntimeException::class));
        // phpredis's own global RedisCluster (Redis Cluster mode) is loaded at the same time.
        $this->assertTrue(class_exists(\RedisCluster::class));
        $this->assertNotSame(\RedisCluster::class, RedisCluster::class);
    }

    public function testBadOptionsAndArguments(): void
    {
        try {
            new RedisCluster(Servers::config(), 0, true, ['colour' => 1]);
            $this->fail('an unknown option must be refused');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString("unknown option 'colour'", $e->getMessage());
        }
        $r = new RedisCluster(Servers::config(), 0, true);
        $before = $r->dbSize();
        try {
            $r->set(['an', 'array'], 'v');
            $this->fail('an array key must be refused');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString('cannot be sent', $e->getMessage());
        }
        $this->assertSame($before, $r->dbSize(), 'a refused argument sends nothing');
        // A value that is an array or an object, without a serializer, is stored as phpredis
        // stores it: PHP's own name for it.
        $this->assertTrue($r->set('k', ['an', 'array']));
        $this->assertSame('Array', $r->get('k'));
        $this->assertTrue($r->set('k', new \stdClass()));
        $this->assertSame('Object', $r->get('k'));
    }

    public function testADeadNodeFailsFastNamingItselfAndTheOthersKeepWorking(): void
    {
        $config = ['nodes' => [
            'node_1' => ['host' => '127.0.0.1', 'port' => Servers::masters()[0]],
            'node_2' => ['host' => '127.0.0.1', 'port' => Servers::deadPort(), 'password' => 'hunter2'],
        ]];
        $r = new RedisCluster($config, 0, true, ['timeout' => 0.5, 'password' => 'hunter2-all']);
        for ($i = 0; array_key_first($r->getNodeFor("k$i")) !== 'node_2'; $i++);
        for ($j = 0; array_key_first($r->getNodeFor("k$j")) !== 'node_1'; $j++);
        $started = microtime(true);
        try {
            $r->get("k$i");
            $this->fail('a dead node must raise');
        } catch (\RedisCluster\ConnectionException $e) {
            $this->assertStringContainsString('node_2 (127.0.0.1:' . Servers::deadPort() . ')', $e->getMessage());
            $this->assertStringNotContainsString('hunter2', $e->getMessage());
        }
        $this->assertLessThan(2.0, microtime(true) - $started);
        unset($config['nodes']['node_2']['password']);
        $r = new RedisCluster($config, 0, true, ['timeout' => 0.5]);
        $this->assertTrue($r->set("k$j", 'ok'), 'the live node keeps working');
        try {
            $r->pipeline()->get("k$j")->get("k$i")->exec();
            $this->fail('a pipeline that reaches a dead node must raise');
        } catch (\RedisCluster\ConnectionException $e) {
            $this->assertStringContainsString('node_2', $e->getMessage());
        }
        $this->assertStringNotContainsString('hunter2', print_r($r, true));
    }
}
