<?php
// RedisCluster\RedisCluster over a real Redis Cluster (['redis_cluster' => ['nodes' => [...]]],
// tests/cluster.sh with CLUSTER_KIND=redis_cluster on REDIS_CLUSTER_TEST_BASE_PORT): the same
// class, the cluster's own placement, phpredis's conventions.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class RedisClusterTest extends TestCase
{
    private static int $base;
    private static string $state;
    private RedisCluster $r;

    public static function setUpBeforeClass(): void
    {
        self::$base = Servers::port('REDIS_CLUSTER_TEST_BASE_PORT');
        self::$state = sys_get_temp_dir() . '/rediscluster-php-rc-' . getmypid();
        self::script('start');
    }

    public static function tearDownAfterClass(): void
    {
        self::script('stop');
    }

    private static function script(string $action): void
    {
        Servers::run('CLUSTER_KIND=redis_cluster REDISCLUSTER_DEV_DIR=' . escapeshellarg(self::$state)
            . ' ' . Servers::ROOT . "/tests/cluster.sh $action " . self::$base);
    }

    /** @return string[] */
    private static function seeds(): array
    {
        return array_map(fn ($i) => '127.0.0.1:' . (self::$base + $i), [0, 1, 2]);
    }

    protected function setUp(): void
    {
        $this->r = new RedisCluster(['redis_cluster' => ['nodes' => self::seeds()]]);
        $this->r->flushAll();
    }

    public function testKeysAreStoredWhereTheClusterSays(): void
    {
        $seed = Servers::direct(self::$base);
        foreach (['plain', 'bar{foo}', '{foo}', 'a{}b', 'user:42'] as $key) {
            $this->assertTrue($this->r->set($key, "v-$key"));
            $node = $this->r->getNodeFor($key);
            $name = array_key_first($node);
            $this->assertSame("127.0.0.1:{$node[$name]['port']}", $name);
            // Its full name, on the master serving its slot.
            $this->assertSame("v-$key", Servers::direct($node[$name]['port'])->get($key));
            $slot = $seed->rawCommand('CLUSTER', 'KEYSLOT', $key);
            $owners = array_filter(
                $seed->rawCommand('CLUSTER', 'SLOTS'),
                fn ($range) => $range[0] <= $slot && $slot <= $range[1]
            );
            $this->assertCount(1, $owners, "one range holds slot $slot");
            $this->assertSame(array_values($owners)[0][2][1], $node[$name]['port'], $key);
        }
        $this->assertSame(5, $this->r->dbSize());
    }

    public function testPhpredisConventionsAcrossSlots(): void
    {
        $values = [];
        for ($i = 0; $i < 300; $i++) {
            $values["m:$i"] = "v$i";
        }
        $this->assertTrue($this->r->mSet($values));
        $this->assertSame(array_values($values), $this->r->mGet(array_keys($values)));
        $this->assertSame(300, $this->r->del(array_keys($values)));
        // An error reply is false and kept for getLastError(), as phpredis does.
        $this->r->set('s', 'text');
        $this->assertFalse($this->r->incr('s'));
        $this->assertStringContainsString('not an integer', (string) $this->r->getLastError());
        // A transaction in one slot.
        $result = $this->r->multi()->incr('{u}a')->incr('{u}b')->exec();
        $this->assertSame([1, 1], $result);
        $this->assertSame(3, $this->r->eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", ['{u}a', 2], 1));
    }

    public function testNoNodeAnswersIsAConnectionException(): void
    {
        $this->expectException(\RedisCluster\ConnectionException::class);
        new RedisCluster(['redis_cluster' => ['nodes' => ['127.0.0.1:' . Servers::deadPort()]]]);
    }

    public function testOptionsThatDoNotApplyAreRefused(): void
    {
        $this->expectException(\RedisCluster\Exception::class);
        $this->expectExceptionMessage('only database 0');
        new RedisCluster(['redis_cluster' => ['nodes' => self::seeds()]], 2);
    }

    public function testALiveMoveReadsOldKeysUnderTheirOldNames(): void
    {
        // The suite's client-side masters (tags stripped) are the deployment moved from.
        Servers::flush();
        $old = new RedisCluster(Servers::config(), null, true);
        $this->assertTrue($old->set('user:1:cart{user:1}', 'old'));
        $this->assertSame(1, $old->hSet('user:2:h{user:2}', 'a', '1'));
        $moving = ['redis_cluster' => ['nodes' => self::seeds()], 'previous' => Servers::config()];
        $window = new RedisCluster($moving, null, true);
        $this->assertSame('old', $window->get('user:1:cart{user:1}'));
        $this->assertSame(['a' => '1'], $window->hGetAll('user:2:h{user:2}'));
        $this->assertSame(['old', false], $window->mGet(['user:1:cart{user:1}', 'nothing']));
        // Writes go to the cluster, under the full name, and win from then on.
        $this->assertTrue($window->set('user:1:cart{user:1}', 'new'));
        $this->assertSame('new', $this->r->get('user:1:cart{user:1}'));
        $this->assertSame('new', $window->get('user:1:cart{user:1}'));
        $this->assertSame(0, $this->r->exists('user:2:h{user:2}'), 'not moved yet');
        // A write acts on the value the key had on its old master (found under its old name)
        // and takes the key off there: the hash keeps its field, a counter counts on.
        $this->assertSame(1, $window->hSet('user:2:h{user:2}', 'b', '2'));
        $this->assertSame(['a' => '1', 'b' => '2'], $this->r->hGetAll('user:2:h{user:2}'));
        $this->assertTrue($old->set('hits{user:3}', '41'));
        $this->assertSame(42, $window->incr('hits{user:3}'));
        $this->assertSame(0, $old->exists('user:2:h{user:2}', 'hits{user:3}'));
        Servers::flush();
    }
}
