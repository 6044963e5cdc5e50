<?php
// phpredis's model, with phpredis itself as the oracle: its error model, its client options
// (values written by one read by the other on the same server), its argument forms and reply
// shapes, its transaction modes and WATCH.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class PhpredisModelTest extends TestCase
{
    use BesidePhpredis;

    /** Our client on the oracle's own server: what one writes, the other reads. */
    private function oursOnOracle(): RedisCluster
    {
        return new RedisCluster(
            ['nodes' => ['node_1' => ['host' => '127.0.0.1', 'port' => Servers::oraclePort()]]],
            0,
            true,
            ['timeout' => 2]
        );
    }

    public function testErrorRepliesAreFalseWithTheLastErrorKept(): void
    {
        $this->assertNull($this->r->getLastError());
        $this->same(fn ($c) => $c->set('str', 'x'));
        $this->same(fn ($c) => $c->lPush('str', 'a'));
        $this->same(fn ($c) => $c->incr('str'));
        // phpredis 5 keeps a space after the message; the message is the server's.
        $this->assertSame(rtrim($this->oracle->getLastError()), $this->r->getLastError());
        $this->same(fn ($c) => $c->clearLastError());
        $this->same(fn ($c) => $c->getLastError());
        $this->same(fn ($c) => $c->getBit('str', -1));
        $this->same(fn ($c) => $c->hIncrBy('str', 'f', 1));
        // Inside a pipeline and a transaction: false in its place.
        $this->same(fn ($c) => $c->pipeline()->incr('str')->get('str')->exec());
        $this->same(fn ($c) => $c->multi()->incr('str')->get('str')->exec());
    }

    public function testOptInExceptionsCarryTheCallersFileAndLine(): void
    {
        $this->r->setOption(RedisCluster::OPT_THROW_ERRORS, true);
        $this->r->set('str', 'x');
        try {
            $line = __LINE__ + 1;
            $this->r->incr('str');
            $this->fail('an error reply must throw with OPT_THROW_ERRORS');
        } catch (\RedisCluster\ServerException $e) {
            $this->assertStringStartsWith('ERR value is not an integer', $e->getMessage());
            $this->assertSame(__FILE__, $e->getFile());
            $this->assertSame($line, $e->getLine());
            $this->assertInstanceOf(\RedisCluster\Exception::class, $e);
        }
        $strict = new RedisCluster(Servers::config(), 0, true, ['exceptions' => true]);
        $this->expectException(\RedisCluster\ServerException::class);
        $strict->lPush('str', 'a');
    }

    public function testErrorRepliesInsidePipelinesFollowTheSameModel(): void
    {
        $this->r->set('str', 'x');
        $this->assertSame([false, 'x'], $this->r->pipeline()->incr('str')->get('str')->exec());
        $this->assertStringStartsWith('ERR value is not an integer', $this->r->getLastError());
        $this->r->clearLastError();
        $this->r->setOption(RedisCluster::OPT_THROW_ERRORS, true);
        try {
            $this->r->pipeline()->incr('str')->get('str')->exec();
            $this->fail('with OPT_THROW_ERRORS an error reply in a pipeline throws');
        } catch (\RedisCluster\ServerException $e) {
            $this->assertStringStartsWith('ERR value is not an integer', $e->getMessage());
        }
        $this->assertSame($e->getMessage(), $this->r->getLastError(), 'a thrown error is kept too');
        $this->assertSame(0, $this->r->getMode(), 'the client is out of pipeline mode');
        $this->r->setOption(RedisCluster::OPT_THROW_ERRORS, false);
        // Values that are arrays or objects, in the batch paths too: as phpredis stores them.
        $this->same(fn ($c) => $c->mSet(['o' => new stdClass(), 'a' => [1]]));
        $this->same(fn ($c) => $c->mGet(['o', 'a']));
        $this->same(fn ($c) => $c->hMSet('h', ['o' => new stdClass()]));
        $this->same(fn ($c) => $c->hGetAll('h'));
        $this->assertTrue($this->r->setOption(Redis::OPT_READ_TIMEOUT, -1), '-1: wait forever');
        $this->assertSame(-1.0, $this->r->getOption(Redis::OPT_READ_TIMEOUT));
        $this->r->sAdd('s1{c}', 'a', 'b', 'c');
        $this->r->sAdd('s2{c}', 'b', 'c', 'd');
        $this->assertSame(2, $this->r->sInterCard(['s1{c}', 's2{c}']));
        $this->assertSame(1, $this->r->sInterCard(['s1{c}', 's2{c}'], 1));
    }

    public function testSerializersAndCompressionReadWhatPhpredisWroteAndTheReverse(): void
    {
        $ours = $this->oursOnOracle();
        $values = ['text', 42, 1.5, true, ['nested' => [1, 2]], new ArrayObject([1])];
        $serializers = [Redis::SERIALIZER_PHP, Redis::SERIALIZER_JSON];
        if (defined('Redis::SERIALIZER_IGBINARY')) {
            $serializers[] = Redis::SERIALIZER_IGBINARY;
        }
        $compressions = [Redis::COMPRESSION_NONE, Redis::COMPRESSION_LZF, Redis::COMPRESSION_ZSTD, Redis::COMPRESSION_LZ4];
        foreach ($serializers as $serializer) {
            foreach ($compressions as $compression) {
                foreach ([$ours, $this->oracle] as $client) {
                    $this->assertTrue($client->setOption(Redis::OPT_SERIALIZER, $serializer));
                    $this->assertTrue($client->setOption(Redis::OPT_COMPRESSION, $compression));
                }
                // What the serializer gives back: JSON has no objects, only arrays.
                $expect = fn ($v) => $serializer === Redis::SERIALIZER_JSON
                    ? json_decode(json_encode($v), true) : $v;
                foreach ([[$this->oracle, $ours], [$ours, $this->oracle]] as [$writer, $reader]) {
                    $writer->del('v', 'l', 'h', 'z');
                    $writer->set('v', $values[4]);
                    $writer->rPush('l', ...$values);
                    $writer->hMSet('h', ['a' => $values[0], 'b' => $values[4]]);
                    $writer->zAdd('z', 1, $values[0], 2, $values[1]);
                    $case = "serializer $serializer, compression $compression, "
                        . get_class($writer) . ' wrote';
                    $this->assertSame(
                        bin2hex($writer->rawCommand('GET', 'v')),
                        bin2hex($this->oracle->_pack($values[4])),
                        "$case: the bytes phpredis would store"
                    );
                    if ($reader === $this->oracle && $serializer === Redis::SERIALIZER_JSON
                        && $compression !== Redis::COMPRESSION_NONE) {
                        // phpredis 5.3.7 cannot read back compressed JSON, even its own: it
                        // gives the JSON text (the bytes above are the same either way).
                        $this->assertSame(json_encode($values[4]), $reader->get('v'), $case);
                        continue;
                    }
                    $this->assertEquals($expect($values[4]), $reader->get('v'), $case);
                    $this->assertEquals(array_map($expect, $values), $reader->lRange('l', 0, -1), $case);
                    $this->assertEquals($expect(['a' => $values[0], 'b' => $values[4]]), $reader->hGetAll('h'), $case);
                    $this->assertEquals([$values[0] => 1.0, $values[1] => 2.0], $reader->zRange('z', 0, -1, true), $case);
                    $this->assertSame($this->oracle->_serialize($values[4]), $ours->_serialize($values[4]));
                    $this->assertSame($this->oracle->_pack($values[4]), $ours->_pack($values[4]));
                }
            }
        }
    }

    public function testWhatASerializerCannotReadComesBackAsItIsWithoutANotice(): void
    {
        foreach ([Redis::SERIALIZER_PHP, Redis::SERIALIZER_JSON] as $serializer) {
            $this->r->setOption(Redis::OPT_SERIALIZER, $serializer);
            $this->r->rawCommand('SET', 'junk', 'not serialized {');
            // PHPUnit turns a notice into a failure: unserialize()'s must not come out.
            $this->assertSame('not serialized {', $this->r->get('junk'));
            $this->r->set('no', false);
            $this->assertFalse($this->r->get('no'));
            $this->r->set('null', null);
            $this->assertNull($this->r->get('null'));
        }
    }

    public function testPrefixIsPartOfTheKeyBeforePlacement(): void
    {
        $this->r->setOption(Redis::OPT_PREFIX, 'app:');
        $this->assertSame('app:k', $this->r->_prefix('k'));
        $this->assertTrue($this->r->set('k', 'v'));
        $this->assertTrue($this->r->mSet(['a' => 1, 'b' => 2]));
        $plain = new RedisCluster(Servers::config(), 0, true);
        $this->assertSame(['v', '1', '2', false], $plain->mGet(['app:k', 'app:a', 'app:b', 'k']));
        // Placed by the prefixed name, where a client without the prefix finds it.
        $this->assertSame($plain->getNodeFor('app:k'), $this->r->getNodeFor('k'));
        $this->assertSame(['1', '2'], $this->r->mGet(['a', 'b']));
        $this->r->setOption(Redis::OPT_SCAN, Redis::SCAN_RETRY);
        $this->r->setOption(Redis::OPT_SCAN, Redis::SCAN_PREFIX);
        $found = [];
        $it = null;
        while (($keys = $this->r->scan($it, '*')) !== false) {
            array_push($found, ...$keys);
        }
        sort($found);
        $this->assertSame(['app:a', 'app:b', 'app:k'], $found);
        $this->assertNull((new RedisCluster(Servers::config()))->getOption(Redis::OPT_PREFIX));
        // What phpredis prefixes and what it sends as written (SORT's patterns, messages).
        $this->oracle->setOption(Redis::OPT_PREFIX, 'app:');
        $this->same(fn ($c) => $c->rPush('sk', 3, 1, 2));
        $this->same(fn ($c) => $c->sort('sk'));
        $this->same(fn ($c) => $c->sort('sk', ['get' => '#', 'sort' => 'desc']));
        $this->same(fn ($c) => $c->publish('chan', 'message'));
        $this->same(fn ($c) => $c->rawCommand('EXISTS', 'app:sk'));
        $this->assertFalse($this->r->setOption(12345, 1), 'an unknown option is refused');
    }

    public function testPhpredisArgumentFormsAndReplyShapes(): void
    {
        $this->same(fn ($c) => $c->ping());
        $this->same(fn ($c) => $c->ping('hello'));
        $this->same(fn ($c) => $c->set('n', 10));
        $this->same(fn ($c) => $c->incr('n', 5));
        $this->same(fn ($c) => $c->decr('n', 3));
        $this->same(fn ($c) => $c->set('t', 'v', 20.5));
        $this->same(fn ($c) => $c->ttl('t'));
        $this->same(fn ($c) => $c->set('t', 'v', ['nx', 'not-an-option', 'ex' => 5]));
        $this->assertFalse($this->r->set('t', 'v', 'not-a-ttl'), 'phpredis: a warning and false');
        $this->same(fn ($c) => $c->rPush('l', 'a', 'b', 'a', 'c', 'a'));
        $this->same(fn ($c) => $c->lRem('l', 'a', 2));
        $this->same(fn ($c) => $c->lRange('l', 0, -1));
        $this->same(fn ($c) => $c->blPop(['missing1{b}', 'missing2{b}'], 1));
        $this->same(fn ($c) => $c->setBit('bits', 3, true));
        $this->same(fn ($c) => $c->get('bits'));
        $this->same(fn ($c) => $c->bitpos('bits', 1));
        $this->same(fn ($c) => $c->zAdd('z', 1, 'a', 2, 'b', 3, 'c'));
        $this->same(fn ($c) => $c->zPopMin('z'));
        $this->same(fn ($c) => $c->zPopMax('z', 2));
        $this->same(fn ($c) => $c->zAdd('z2', 0, 'a', 0, 'b', 0, 'c'));
        $this->same(fn ($c) => $c->zRangeByLex('z2', '[a', '(c'));
        $this->same(fn ($c) => $c->zLexCount('z2', '-', '+'));
        $this->same(fn ($c) => $c->bzPopMin('z2', 1));
        $this->same(fn ($c) => $c->sAdd('s', 'x', 'y'));
        $this->same(fn ($c) => $c->sMisMember('s', 'x', 'q'));
        $this->same(fn ($c) => $c->sort('l', ['sort' => 'desc', 'alpha' => true]));
        $this->same(fn ($c) => $c->object('encoding', 'l'));
        $this->same(fn ($c) => $c->object('encoding', 'missing'));
        $this->same(fn ($c) => $c->eval('return {KEYS[1], ARGV[1]}', ['k', 'arg'], 1));
        $sha = $this->same(fn ($c) => $c->script('load', 'return 7'));
        $this->same(fn ($c) => $c->script('exists', $sha, sha1('nope')));
        $this->same(fn ($c) => $c->evalSha($sha));
        $this->same(fn ($c) => $c->hMSet('h', ['x' => 1, 'y' => [], 'z' => 'z']));
        $this->same(fn ($c) => $c->hMGet('h', ['x', null, 'y', '', 'z', false]));
        $this->same(fn ($c) => $c->pubsub('numsub', ['chan']));
        $this->same(fn ($c) => $c->pubsub('numpat'));
        $this->same(fn ($c) => $c->slowlog('reset'));
        $this->same(fn ($c) => $c->select(-1));
    }

    public function testTransactionModesAndPipelinesHoldingTransactions(): void
    {
        $this->same(fn ($c) => $c->multi(Redis::PIPELINE)->set('a{t}', 1)->get('a{t}')->exec());
        $this->same(fn ($c) => $c->multi(Redis::MULTI)->set('a{t}', 2)->ping()->get('a{t}')->exec());
        $this->same(fn ($c) => $c->pipeline()->pipeline()->incr('a{t}')->exec());
        $this->same(fn ($c) => $c->pipeline()
            ->ping()
            ->multi()->set('x{t}', 42)->incr('x{t}')->exec()
            ->multi()->get('x{t}')->del('x{t}')->exec()
            ->ping()
            ->exec());
        $this->same(fn ($c) => $c->multi()->discard());
        $this->same(fn ($c) => $c->discard());
        $this->same(fn ($c) => $c->getMode());
    }

    /**
     * Publishes `[channel, message]` pairs from a child process after a moment. The child ends
     * with SIGKILL so that it runs none of the parent's shutdown functions (they stop the
     * suite's servers). Returns its pid.
     */
    private function publishSoon(array $messages): int
    {
        $pid = pcntl_fork();
        if ($pid === 0) {
            usleep(300000);
            $publisher = new RedisCluster(Servers::config());
            foreach ($messages as [$channel, $message]) {
                if ($channel === null) {
                    usleep($message); // let what was sent on other masters arrive first
                    continue;
                }
                $publisher->publish($channel, $message);
            }
            posix_kill(getmypid(), SIGKILL);
        }
        return $pid;
    }

    public function testSubscribeCallsTheCallbackUntilItUnsubscribes(): void
    {
        $child = $this->publishSoon([
            ['ch1', 'a'], ['news.x', 'pa'], ['ch2', 'b'], ['ch1', 'c'], [null, 200000], ['ch2', 'stop'],
        ]);
        $r = new RedisCluster(Servers::config(), 0, true, ['read_timeout' => 5]);
        $got = [];
        $r->subscribe(['ch1', 'ch2'], function ($redis, $channel, $message) use (&$got) {
            $got[] = "$channel:$message";
            if ($message === 'stop') {
                $this->assertSame(['ch1' => true, 'ch2' => true], $redis->unsubscribe(['ch1', 'ch2']));
            }
        });
        pcntl_waitpid($child, $status);
        // In order per channel; channels on different masters come through different
        // connections, so not in one order across channels.
        $this->assertSame(['ch1:a', 'ch1:c'], array_values(preg_grep('/^ch1:/', $got)));
        $this->assertSame(['ch2:b', 'ch2:stop'], array_values(preg_grep('/^ch2:/', $got)));
        $this->assertCount(4, $got);
        $this->assertFalse($r->unsubscribe(['ch1']), 'outside a callback');
        $this->assertTrue($r->set('after', 'v'), 'usable after');

        $child = $this->publishSoon([['news.x', 'hello']]);
        $seen = [];
        $r->psubscribe(['news.*'], function ($redis, $pattern, $channel, $message) use (&$seen) {
            $seen[] = [$pattern, $channel, $message];
            $redis->punsubscribe();
        });
        pcntl_waitpid($child, $status);
        $this->assertSame([['news.*', 'news.x', 'hello']], $seen);

        // A callback that throws ends the loop with its exception.
        $child = $this->publishSoon([['boom', 'x']]);
        try {
            $r->subscribe(['boom'], function () {
                throw new LogicException('from the callback');
            });
            $this->fail('the exception must come out');
        } catch (LogicException $e) {
            $this->assertSame('from the callback', $e->getMessage());
        }
        pcntl_waitpid($child, $status);
    }

    public function testWatchAbortsTheTransactionWhenAWatchedKeyChanged(): void
    {
        $other = new RedisCluster(Servers::config(), 0, true);
        $this->r->set('x', 42);
        $this->assertTrue($this->r->watch('x'));
        $other->incr('x');
        $this->assertFalse($this->r->multi()->get('x')->exec(), 'changed under WATCH: aborted');
        $this->assertTrue($this->r->watch('x'));
        $this->assertSame([true, '44'], $this->r->multi()->set('x', 44)->get('x')->exec());
        $this->assertTrue($this->r->watch('x'));
        $other->incr('x');
        $this->assertTrue($this->r->unwatch());
        $this->assertSame(['45'], $this->r->multi()->get('x')->exec(), 'unwatched: applied');
        // A pipeline's transaction is guarded by a watch made before the pipeline.
        $this->assertTrue($this->r->watch('x'));
        $other->incr('x');
        $this->assertSame([false], $this->r->pipeline()->multi()->get('x')->exec()->exec());
        try {
            $this->r->watch('a', 'b', 'c');
            $this->fail('keys on several masters cannot be watched together');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString('hash tag', $e->getMessage());
        }
    }
}
