<?php
// phpredis's return conventions, side by side with phpredis's own Redis class on one server.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class ConventionsTest extends TestCase
{
    use BesidePhpredis;

    public function testStringsAndKeys(): void
    {
        $this->same(fn ($c) => $c->set('foo', 'bar'));
        $this->same(fn ($c) => $c->get('foo'));
        $this->same(fn ($c) => $c->get('missing'));
        $this->same(fn ($c) => $c->set('k', 'v', ['nx', 'ex' => 10]));
        $this->same(fn ($c) => $c->set('k', 'v', ['nx']));
        $this->same(fn ($c) => $c->set('k', 'w', ['xx', 'px' => 5000]));
        $this->same(fn ($c) => $c->set('t', 'v', 100));
        $this->same(fn ($c) => $c->ttl('t'));
        $this->same(fn ($c) => $c->setex('e', 50, 'v'));
        $this->same(fn ($c) => $c->setnx('e', 'v'));
        $this->same(fn ($c) => $c->incr('n'));
        $this->same(fn ($c) => $c->incrBy('n', 5));
        $this->same(fn ($c) => $c->incrByFloat('f', 1.5));
        $this->same(fn ($c) => $c->decr('n'));
        $this->same(fn ($c) => $c->append('foo', '!'));
        $this->same(fn ($c) => $c->strlen('foo'));
        $this->same(fn ($c) => $c->getRange('foo', 0, 1));
        $this->same(fn ($c) => $c->exists('foo', 'missing', 'n'));
        $this->same(fn ($c) => $c->exists(['foo', 'n']));
        $this->same(fn ($c) => $c->expire('foo', 100));
        $this->same(fn ($c) => $c->persist('foo'));
        $this->same(fn ($c) => $c->ttl('foo'));
        $this->same(fn ($c) => $c->type('foo'));
        $this->same(fn ($c) => $c->type('missing'));
        $this->same(fn ($c) => $c->mSet(['a' => 1, 'b' => 2.5, 'c' => 'x']));
        $this->same(fn ($c) => $c->mGet(['a', 'b', 'c', 'missing']));
        $this->same(fn ($c) => $c->mSetNx(['a' => 2, 'z' => 1]));
        $this->same(fn ($c) => $c->del('a', 'b'));
        $this->same(fn ($c) => $c->del(['c', 'missing']));
        $this->same(fn ($c) => $c->rename('foo', 'moved'));
        $this->same(fn ($c) => $c->get('moved'));
        $this->same(fn ($c) => $c->dbSize());
        $keys = $this->same(fn ($c) => count($c->keys('*')));
        $this->assertGreaterThan(3, $keys);
        $this->same(fn ($c) => $c->set("bin\x00\xff", "\x00\x01\xfe"));
        $this->same(fn ($c) => $c->get("bin\x00\xff"));
    }

    public function testHashesListsSetsSortedSets(): void
    {
        $this->same(fn ($c) => $c->hSet('h', 'a', 1));
        $this->same(fn ($c) => $c->hMSet('h', ['b' => 'x', 'c' => 3.5]));
        $this->same(fn ($c) => $c->hGetAll('h'));
        $this->same(fn ($c) => $c->hGetAll('missing'));
        $this->same(fn ($c) => $c->hMGet('h', ['a', 'zz', 'c']));
        $this->same(fn ($c) => $c->hGet('h', 'zz'));
        $this->same(fn ($c) => $c->hExists('h', 'a'));
        $this->same(fn ($c) => $c->hIncrBy('h', 'a', 2));
        $this->same(fn ($c) => $c->hLen('h'));
        $this->same(fn ($c) => $c->hDel('h', 'a', 'b'));
        $this->same(fn ($c) => $c->rPush('l', 'a', 'b', 'c'));
        $this->same(fn ($c) => $c->lPush('l', 'z'));
        $this->same(fn ($c) => $c->lRange('l', 0, -1));
        $this->same(fn ($c) => $c->lLen('l'));
        $this->same(fn ($c) => $c->lPop('l'));
        $this->same(fn ($c) => $c->rPop('missing'));
        $this->same(fn ($c) => $c->lIndex('l', 1));
        $this->same(fn ($c) => $c->lSet('l', 0, 'q'));
        $this->same(fn ($c) => $c->sAdd('s', 'a', 'b', 'c'));
        $this->same(fn ($c) => $c->sIsMember('s', 'a'));
        $this->same(fn ($c) => $c->sIsMember('s', 'zz'));
        $this->same(fn ($c) => $c->sCard('s'));
        $this->same(fn ($c) => $c->sRem('s', 'a'));
        $this->same(fn ($c) => $c->zAdd('z', 1, 'one', 2.5, 'two', 3, 'three'));
        $this->same(fn ($c) => $c->zRange('z', 0, -1));
        $this->same(fn ($c) => $c->zRange('z', 0, -1, true));
        $this->same(fn ($c) => $c->zRevRange('z', 0, 1, true));
        $this->same(fn ($c) => $c->zRangeByScore('z', '1', '(3', ['withscores' => true]));
        $this->same(fn ($c) => $c->zRangeByScore('z', '-inf', '+inf', ['limit' => [1, 1]]));
        $this->same(fn ($c) => $c->zScore('z', 'two'));
        $this->same(fn ($c) => $c->zScore('z', 'none'));
        $this->same(fn ($c) => $c->zIncrBy('z', 1.5, 'one'));
        $this->same(fn ($c) => $c->zRank('z', 'three'));
        $this->same(fn ($c) => $c->zCard('z'));
        $this->same(fn ($c) => $c->zRem('z', 'one'));
        $this->same(fn ($c) => $c->pfAdd('hll', ['a', 'b', 'c']));
        $this->same(fn ($c) => $c->pfCount('hll'));
    }

    public function testBinaryKeysAndFieldsInArrays(): void
    {
        // PHP array keys are bytes, not always UTF-8: they go through as they are.
        $this->same(fn ($c) => $c->mSet(["\xff\x00key" => 'v1', 'plain' => "\x00\xfe"]));
        $this->same(fn ($c) => $c->mGet(["\xff\x00key", 'plain']));
        $this->same(fn ($c) => $c->hMSet('h', ["f\xff" => 'a', '7' => 'numeric field']));
        $this->same(fn ($c) => $c->hGetAll('h'));
        $this->same(fn ($c) => $c->hMGet('h', ["f\xff", '7', 'none']));
        // phpredis 6's array form of hSet (Debian's phpredis 5 lacks it): ours only.
        $this->assertSame(2, $this->r->hSet('h2', ['7' => 'x', 'y' => 'z']));
        $this->assertSame([7 => 'x', 'y' => 'z'], $this->r->hGetAll('h2'));
    }

    public function testMGetValuesOfEveryShapeAndSize(): void
    {
        // MGET's values are made PHP strings straight from the read buffer, element by
        // element: values larger than the 64 KiB buffer, split across reads, empty, binary,
        // missing, and numeric keys, over every master, in the caller's order.
        $values = ['big' => str_repeat('x', 200000), 'empty' => '', 'bin' => "\x00\r\n\xff",
            'crlf' => "\r\n", 7 => 'seven', 'next' => str_repeat('y', 70000)];
        for ($i = 0; $i < 300; $i++) {
            $values["k$i"] = str_repeat((string) ($i % 10), $i);
        }
        $this->same(fn ($c) => $c->mSet($values));
        $keys = array_merge(['missing'], array_map('strval', array_keys($values)), ['big', 'also missing']);
        $this->same(fn ($c) => $c->mGet($keys));
        $this->same(fn ($c) => $c->mGet([7, 'missing', 7.0]));
        // A key of another type is nil for MGET, as on one server.
        $this->same(fn ($c) => $c->lPush('a list', 'x'));
        $this->same(fn ($c) => $c->mGet(['a list', 'k5']));
    }

    public function testScanFamilyWalksEverything(): void
    {
        $keys = [];
        for ($i = 0; $i < 300; $i++) {
            $keys["key:$i"] = $i;
        }
        $this->r->mSet($keys);
        $this->r->hMSet('h', ['a' => 1, 'b' => 2]);
        $this->r->sAdd('s', 'x', 'y');
        $this->r->zAdd('z', 1, 'm1', 2, 'm2');
        $seen = [];
        $it = null;
        while (($found = $this->r->scan($it, 'key:*', 20)) !== false) {
            array_push($seen, ...$found);
        }
        sort($seen);
        $expected = array_keys($keys);
        sort($expected);
        $this->assertSame($expected, $seen);
        $this->assertSame(0, $it);
        $this->assertFalse($this->r->scan($it), 'a finished walk stays finished');
        $it = null;
        $this->assertSame(['a' => '1', 'b' => '2'], $this->r->hScan('h', $it));
        $it = null;
        $members = $this->r->sScan('s', $it);
        sort($members);
        $this->assertSame(['x', 'y'], $members);
        $it = null;
        $this->assertSame(['m1' => 1.0, 'm2' => 2.0], $this->r->zScan('z', $it));
    }

    public function testPipelineAndTransaction(): void
    {
        $ours = $this->r->pipeline()->set('p', 1)->incr('p')->get('p')->get('missing')->exec();
        $theirs = $this->oracle->pipeline()->set('p', 1)->incr('p')->get('p')->get('missing')->exec();
        $this->assertSame($theirs, $ours);
        $ours = $this->r->multi()->set('a{t}', 1)->incr('a{t}')->exec();
        $this->assertSame([true, 2], $ours);
        try {
            $this->r->multi()->set('a', 1)->set('b', 2)->set('c', 3)->exec();
            $this->fail('a transaction over several masters must be refused');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString('hash tag', $e->getMessage());
        }
        $this->assertSame(0, $this->r->exists('a', 'b', 'c'), 'a refused transaction sends nothing');
    }

    public function testServerWideCommandsAnswerPerNode(): void
    {
        $info = $this->r->info();
        $this->assertSame(['node_1', 'node_2', 'node_3'], array_keys($info));
        $version = Servers::direct(Servers::masters()[1])->info('server')['redis_version'];
        $this->assertSame((string) $version, (string) $info['node_2']['redis_version']);
        $this->assertIsInt($info['node_1']['tcp_port']);
        $this->assertSame(true, $this->r->ping() !== false);
        $this->assertTrue($this->r->flushDb());
        $this->assertSame(0, $this->r->dbSize());
    }

    public function testRawCommandAndCaseInsensitiveNames(): void
    {
        $this->assertTrue($this->r->rawCommand('SET', 'raw', 'v'));
        $this->assertSame('v', $this->r->rawCommand('GET', 'raw'));
        $this->assertSame('v', $this->r->GET('raw'));
        $this->assertSame(1, $this->r->SADD('set', 'x'));
    }
}
