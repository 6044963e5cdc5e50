<?php
// Cross-node commands against phpredis's Redis on one plain server: the cluster (keys spread
// over three masters) and the one server give the same replies and the same data.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class CrossNodeTest extends TestCase
{
    private RedisCluster $r;
    private Redis $oracle;

    protected function setUp(): void
    {
        Servers::flush();
        $this->r = new RedisCluster(Servers::config(), 0, true);
        $this->oracle = Servers::direct(Servers::oraclePort());
        $nodes = [];
        foreach (['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as $key) {
            $nodes += $this->r->getNodeFor($key);
        }
        $this->assertCount(3, $nodes, 'the keys spread over all masters');
    }

    private function same(callable $call): mixed
    {
        $ours = $call($this->r);
        $theirs = $call($this->oracle);
        $this->assertSame($theirs, $ours);
        return $ours;
    }

    private static function sorted(array $values): array
    {
        sort($values);
        return $values;
    }

    public function testSetAlgebraAndMoves(): void
    {
        $this->same(fn ($c) => $c->sAdd('a', '1', '2', '3'));
        $this->same(fn ($c) => $c->sAdd('b', '2', '3', '4'));
        $this->same(fn ($c) => self::sorted($c->sUnion('a', 'b')));
        $this->same(fn ($c) => self::sorted($c->sInter('a', 'b')));
        $this->same(fn ($c) => self::sorted($c->sDiff('a', 'b')));
        $this->same(fn ($c) => $c->sDiffStore('c', 'a', 'b'));
        $this->same(fn ($c) => self::sorted($c->sMembers('c')));
        $this->same(fn ($c) => $c->sMove('a', 'd', '1'));
        $this->same(fn ($c) => self::sorted($c->sMembers('d')));
    }

    public function testSortedSetsListsKeysAndHyperLogLogs(): void
    {
        $this->same(fn ($c) => $c->zAdd('a', 1, 'x', 2, 'y'));
        $this->same(fn ($c) => $c->zAdd('b', 10, 'y', 20, 'z'));
        $this->same(fn ($c) => $c->zUnionStore('c', ['a', 'b']));
        $this->same(fn ($c) => $c->zRange('c', 0, -1, true));
        $this->same(fn ($c) => $c->zInterStore('d', ['a', 'b'], [2, 1], 'max'));
        $this->same(fn ($c) => $c->zRange('d', 0, -1, true));
        $this->same(fn ($c) => $c->rPush('e', 'l1', 'l2'));
        $this->same(fn ($c) => $c->rPopLPush('e', 'f'));
        $this->same(fn ($c) => $c->lRange('f', 0, -1));
        $this->same(fn ($c) => $c->rename('e', 'a2'));
        $this->same(fn ($c) => $c->lRange('a2', 0, -1));
        $this->same(fn ($c) => $c->mSet(['a' => 1, 'b' => 2, 'c' => 3, 'd' => 4]));
        $this->same(fn ($c) => $c->mGet(['d', 'c', 'b', 'a', 'none']));
        $this->same(fn ($c) => $c->del('a', 'b', 'c', 'none'));
        $this->same(fn ($c) => $c->pfAdd('e', ['x', 'y']));
        $this->same(fn ($c) => $c->pfAdd('f2', ['y', 'z']));
        $this->same(fn ($c) => $c->pfCount(['e', 'f2']));
        $this->same(fn ($c) => $c->blPop(['none', 'f'], 1));
    }

    public function testPerNodeTransactionsWhenTheConfigAllowsThem(): void
    {
        $nodes = $this->r->getNodeFor('a') + $this->r->getNodeFor('b') + $this->r->getNodeFor('c');
        $this->assertGreaterThan(1, count($nodes), 'a, b and c are on several masters');
        try {
            $this->r->multi()->set('a', '1')->set('b', '1')->set('c', '1')->exec();
            $this->fail('the default refuses a transaction over several masters');
        } catch (\RedisCluster\Exception $refused) {
            $this->assertStringContainsString('hash tag', $refused->getMessage());
        }
        $this->assertSame(0, $this->r->exists('a', 'b', 'c'));

        // The option in the cluster array: one MULTI/EXEC per master, replies in order.
        $r = new RedisCluster(Servers::config() + ['cross_node_transactions' => 'per_node'], 0, true);
        $this->assertSame([true, 1, true, '1'], $r->multi()->set('a', '1')->incr('b')->set('c', '3')->get('b')->exec());
        $this->assertSame(['1', '1', '3'], $r->mGet(['a', 'b', 'c']));

        // Under watch(), a watched key changed by another client: exec() is false, and no
        // master applied its part.
        $owner = Servers::direct(array_values($r->getNodeFor('a'))[0]['port']);
        $r->watch('a');
        $owner->set('a', 'changed');
        $this->assertFalse($r->multi()->set('a', 'mine')->set('b', 'x')->set('c', 'x')->exec());
        $this->assertSame(['changed', '1', '3'], $r->mGet(['a', 'b', 'c']));
        $r->watch('a');
        $this->assertSame([true, true], $r->multi()->set('a', 'mine')->set('b', 'x')->exec());
        $this->assertSame(['mine', 'x'], $r->mGet(['a', 'b']));
    }

    public function testAScriptWithoutKeysRunsOnNode1OrOnEveryMasterWhenConfigured(): void
    {
        $locks = array_map(fn ($i) => "lock:$i", range(0, 11));
        foreach ($locks as $lock) {
            $this->r->set($lock, '1');
        }
        $onNode1 = count(array_filter($locks, fn ($k) => array_keys($this->r->getNodeFor($k))[0] === 'node_1'));
        $this->assertGreaterThan(0, $onNode1);
        $resetAll = "local found = redis.call('KEYS', 'lock:*') "
            . "for _, key in ipairs(found) do redis.call('DEL', key) end return #found";
        // By default on node_1 only.
        $this->assertSame($onNode1, $this->r->eval($resetAll));
        $this->assertSame(count($locks) - $onNode1, $this->r->exists(...$locks));

        // 'every_master': once on each master, the counts added up.
        $r = new RedisCluster(Servers::config() + ['keyless_scripts' => 'every_master'], 0, true);
        $this->assertSame(count($locks) - $onNode1, $r->eval($resetAll));
        $this->assertSame(0, $r->exists(...$locks));
        $this->assertSame([1, 1, 1], $r->eval('return {1}'));
        // A script with keys still runs where its keys are.
        $this->assertTrue($r->eval("return redis.call('SET', KEYS[1], 'v')", ['lock:x'], 1));
        $this->assertSame('v', $this->r->get('lock:x'));
    }

    public function testCommandsWhoseKeysMustShareANodeAreRefusedNamingTheNodes(): void
    {
        try {
            $this->r->rawCommand('EVAL', 'return 1', 2, 'a', 'b');
            $this->fail('a script over two masters must be refused');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString('node_', $e->getMessage());
            $this->assertNotInstanceOf(\RedisCluster\ConnectionException::class, $e);
        }
        $this->assertSame(2, $this->r->rawCommand('EVAL', 'return #KEYS', 2, 'a{t}', 'b{t}'));
        // LCS is composed across masters, as phpredis's Redis answers it on one server.
        $this->r->mSet(['a' => 'ohmytext', 'b' => 'mynewtext']);
        $this->assertSame('mytext', $this->r->rawCommand('LCS', 'a', 'b'));
    }
}
