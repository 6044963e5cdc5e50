<?php
// phpredis's stream (x*) and geo (geo*) methods, side by side with phpredis's own Redis class
// on one server: same calls, same PHP values (IDs and timings aside), with and without a
// serializer and a key prefix, one by one and in pipelines and transactions.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\RedisCluster;

final class StreamsGeoTest extends TestCase
{
    use BesidePhpredis;

    /** Both clients with the same option. */
    private function option(int $option, mixed $value): void
    {
        $this->assertTrue($this->r->setOption($option, $value));
        $this->assertTrue($this->oracle->setOption($option, $value));
    }

    /** Plain keys `$base-N` that land on the same master as `$base-0` (after the prefix). */
    private function keysOnOneMaster(string $base, int $count): array
    {
        $keys = [$base . '-0'];
        $node = array_key_first($this->r->getNodeFor($keys[0]));
        for ($i = 1; count($keys) < $count; $i++) {
            if (array_key_first($this->r->getNodeFor("$base-$i")) === $node) {
                $keys[] = "$base-$i";
            }
        }
        return $keys;
    }

    /** The same entries (same IDs) in the stream on both sides. */
    private function entries(string $key, array $rows): array
    {
        $ids = [];
        foreach ($rows as $i => $row) {
            $id = '1-' . ($i + 1);
            $this->same(fn ($c) => $c->xAdd($key, $id, $row));
            $ids[] = $id;
        }
        return $ids;
    }

    public function testAddRangeLenDelTrim(): void
    {
        $this->same(fn ($c) => $c->xAdd('s', '1-1', ['f' => 'v', 7 => 'seven', 'n' => 1.5]));
        $this->same(fn ($c) => $c->xAdd('s', '1-2', ['f' => 'w']));
        $this->same(fn ($c) => $c->xAdd('s', '1-2', ['f' => 'x'])); // ID not greater: false
        $this->same(fn ($c) => $c->getLastError());
        $this->same(fn ($c) => $c->xAdd('s', '*', []));
        $id = $this->r->xAdd('t', '*', ['k' => 'v'], 10, true);
        $this->assertMatchesRegularExpression('/^\d+-\d+$/', $id);
        $this->same(fn ($c) => $c->xLen('s'));
        $this->same(fn ($c) => $c->xRange('s', '-', '+'));
        $this->same(fn ($c) => $c->xRange('s', '0', '+', 1));
        $this->same(fn ($c) => $c->xRevRange('s', '+', '-'));
        $this->same(fn ($c) => $c->xRevRange('s', '+', '-', 1));
        $this->same(fn ($c) => $c->xRange('missing', '-', '+'));
        $this->same(fn ($c) => $c->xDel('s', ['1-1', '9-9']));
        $this->same(fn ($c) => $c->xDel('s', []));
        $this->entries('trim', array_fill(0, 10, ['a' => 'b']));
        $this->same(fn ($c) => $c->xTrim('trim', 4));
        $this->same(fn ($c) => $c->xLen('trim'));
        $this->same(fn ($c) => $c->type('trim'));
        $this->same(fn ($c) => $c->set('str', 'x'));
        $this->same(fn ($c) => $c->xRange('str', '-', '+')); // WRONGTYPE: false
    }

    public function testSerializerAndPrefix(): void
    {
        $this->option(Redis::OPT_SERIALIZER, Redis::SERIALIZER_PHP);
        $this->option(Redis::OPT_PREFIX, 'p:');
        $this->same(fn ($c) => $c->xAdd('s', '1-1', ['arr' => ['a' => 1], 'int' => 5, 'str' => 'x']));
        $this->same(fn ($c) => $c->xRange('s', '-', '+'));
        $this->same(fn ($c) => $c->xRead(['s' => 0]));
        $this->same(fn ($c) => $c->xGroup('CREATE', 's', 'g', '0'));
        $this->same(fn ($c) => $c->xReadGroup('g', 'c1', ['s' => '>']));
        $this->same(fn ($c) => $c->xClaim('s', 'g', 'c2', 0, ['1-1'], []));
        $this->same(fn ($c) => $c->xInfo('STREAM', 's')['first-entry']); // raw, as phpredis
        $this->option(Redis::OPT_PREFIX, '');
        $this->same(fn ($c) => $c->xLen('p:s'));
        $this->option(Redis::OPT_SERIALIZER, Redis::SERIALIZER_JSON);
        $this->same(fn ($c) => $c->xAdd('j', '1-1', ['f' => [1, 2, 3]]));
        $this->same(fn ($c) => $c->xRevRange('j', '+', '-'));
    }

    public function testGroupsPendingAckClaim(): void
    {
        $ids = $this->entries('s', [['a' => '1'], ['b' => '2'], ['c' => '3']]);
        $this->same(fn ($c) => $c->xGroup('CREATE', 's', 'g', '0'));
        $this->same(fn ($c) => $c->xGroup('CREATE', 's', 'g', '0')); // BUSYGROUP
        $this->assertStringStartsWith('BUSYGROUP', $this->r->getLastError());
        $this->same(fn ($c) => $c->xGroup('CREATE', 'nostream', 'g', '0'));
        $this->same(fn ($c) => $c->xGroup('CREATE', 'mk', 'g', '$', true));
        $this->same(fn ($c) => $c->xGroup('SETID', 's', 'g', '0'));
        $this->same(fn ($c) => $c->xGroup('SETID', 's', 'g', 'BAD_ID'));
        // CREATECONSUMER came after phpredis 5.3.7 (which refuses it): ours alone.
        $this->assertFalse($this->oracle->xGroup('CREATECONSUMER', 's', 'g', 'c0'));
        $this->assertSame(1, $this->r->xGroup('CREATECONSUMER', 's', 'g', 'c0'));
        $this->assertSame(1, $this->oracle->rawCommand('XGROUP', 'CREATECONSUMER', 's', 'g', 'c0'));
        $this->same(fn ($c) => $c->xGroup('DELCONSUMER', 's', 'g', 'c0'));
        $this->same(fn ($c) => $c->xGroup('DESTROY', 'mk', 'g'));
        $this->same(fn ($c) => $c->xGroup('DESTROY', 's'));
        $this->same(fn ($c) => $c->xReadGroup('g', 'c1', ['s' => '>'], 2));
        $this->same(fn ($c) => $c->xReadGroup('g', 'c1', ['s' => '>'], null, null));
        $this->same(fn ($c) => @$c->xReadGroup('g', 'c1', ['s' => '>'], -1));
        $this->same(fn ($c) => @$c->xReadGroup('g', 'c1', ['s' => '>'], null, -1));
        $this->same(fn ($c) => $c->xReadGroup('g', 'c1', ['s' => 0]));
        $this->same(fn ($c) => $c->xPending('s', 'g'));
        $pending = $this->r->xPending('s', 'g', '-', '+', 10, 'c1');
        $this->assertSame($ids, array_column($pending, 0));
        $this->assertSame(['c1', 'c1', 'c1'], array_column($pending, 1));
        $this->same(fn ($c) => $c->xPending('s', 'g', '-'));
        $this->same(fn ($c) => $c->xClaim('s', 'g', 'c2', 0, [$ids[0]], ['JUSTID']));
        $this->same(fn ($c) => $c->xClaim('s', 'g', 'c2', 0, [$ids[1]], ['RETRYCOUNT' => 5, 'IDLE' => 1000]));
        $this->same(fn ($c) => $c->xClaim('s', 'g', 'c2', 100000, [$ids[2]], []));
        $this->same(fn ($c) => $c->xClaim('s', 'g', 'c2', 0, [], []));
        $this->same(fn ($c) => array_column($c->xPending('s', 'g', '-', '+', 1, 'c2'), 3));
        $this->same(fn ($c) => $c->xAck('s', 'g', [$ids[0], $ids[1]]));
        $this->same(fn ($c) => $c->xAck('s', 'g', []));
        $this->same(fn ($c) => $c->xPending('s', 'g')[0]);
        // xAutoClaim is not in phpredis 5.3.7: ours alone, in 6.x's shape.
        $auto = $this->r->xAutoClaim('s', 'g', 'c3', 0, '0-0', 10);
        $this->assertSame('0-0', $auto[0]);
        $this->assertSame([$ids[2] => ['c' => '3']], $auto[1]);
        $this->assertSame([$ids[2]], $this->r->xAutoClaim('s', 'g', 'c4', 0, '0-0', 10, true)[1]);
    }

    public function testInfo(): void
    {
        $this->entries('s', [['a' => '1'], ['b' => '2']]);
        $this->same(fn ($c) => $c->xGroup('CREATE', 's', 'g1', '0'));
        $this->same(fn ($c) => $c->xGroup('CREATE', 's', 'g2', '0'));
        $this->same(fn ($c) => $c->xReadGroup('g1', 'c1', ['s' => '>'], 1));
        $drop = fn ($info) => array_map(
            fn ($row) => array_diff_key($row, ['idle' => 0, 'inactive' => 0]),
            $info
        );
        $this->same(fn ($c) => $c->xInfo('GROUPS', 's'));
        $this->same(fn ($c) => $drop($c->xInfo('CONSUMERS', 's', 'g1')));
        $this->same(fn ($c) => $c->xInfo('STREAM', 's'));
        $full = $this->r->xInfo('STREAM', 's', 'FULL', 1);
        $this->assertSame(['1-1' => ['a' => '1']], $full['entries'][0]);
        $this->assertCount(1, $full['entries']);
        $this->assertSame('g1', $full['groups'][0]['name']);
        $this->same(fn ($c) => count($c->xInfo('STREAM', 's', 'full')['entries']));
        $this->same(fn ($c) => @$c->xInfo('STREAM', 's', 'bogus'));
        $this->same(fn ($c) => $c->xInfo('STREAM', 'missing'));
        // An empty stream: first and last entry are null (phpredis issue 1831).
        $this->same(fn ($c) => $c->xAdd('e', '1-1', ['f' => 'v']));
        $this->same(fn ($c) => $c->xTrim('e', 0));
        $this->same(fn ($c) => $c->xInfo('STREAM', 'e'));
    }

    public function testReadOnOneMaster(): void
    {
        [$a, $b] = $this->keysOnOneMaster('xr', 2);
        $this->entries($a, [['f' => 'v'], ['g' => 'w']]);
        $this->entries($b, [['h' => 'x']]);
        $this->same(fn ($c) => $c->xRead([$a => 0, $b => 0]));
        $this->same(fn ($c) => $c->xRead([$a => 0, $b => 0], 1));
        $this->same(fn ($c) => $c->xRead([$a => '1-1']));
        $this->same(fn ($c) => $c->xRead([$a => '$', $b => '$']));
        $this->same(fn ($c) => $c->xRead([]));
        $start = microtime(true);
        $this->same(fn ($c) => $c->xRead([$a => '$'], -1, 100));
        $this->assertGreaterThanOrEqual(0.1, (microtime(true) - $start) / 2);
        $this->option(Redis::OPT_NULL_MULTIBULK_AS_NULL, true);
        $this->same(fn ($c) => $c->xRead([$a => '$'], 1, 10));
    }

    public function testReadAcrossMastersIsRefused(): void
    {
        // XREAD runs on one server: keys on different masters are the engine's CrossNode error.
        $a = 'x0';
        $node = array_key_first($this->r->getNodeFor($a));
        for ($i = 1; array_key_first($this->r->getNodeFor("x$i")) === $node; $i++) {
        }
        $this->expectException(\RedisCluster\Exception::class);
        $this->r->xRead([$a => 0, "x$i" => 0]);
    }

    public function testStreamsInPipelinesAndTransactions(): void
    {
        $this->entries('{t}s', [['f' => 'v']]);
        $this->same(fn ($c) => $c->xGroup('CREATE', '{t}s', 'g', '0'));
        foreach (['pipeline', 'multi'] as $mode) {
            $this->same(fn ($c) => $c->$mode()
                ->xRange('{t}s', '-', '+')
                ->xRead(['{t}s' => 0])
                ->xReadGroup('g', 'c', ['{t}s' => 0])
                ->xInfo('GROUPS', '{t}s')
                ->xClaim('{t}s', 'g', 'c', 0, ['1-1'], ['JUSTID'])
                ->xRevRange('{t}s', '+', '-', 1)
                ->exec());
        }
    }

    private const CITIES = [
        'Chico' => [-121.837478, 39.728494],
        'Sacramento' => [-121.494400, 38.581572],
        'Gridley' => [-121.693583, 39.363777],
        'Marysville' => [-121.591355, 39.145725],
        'Cupertino' => [-122.032182, 37.322998],
    ];

    private function cities(string $key): void
    {
        foreach (self::CITIES as $city => [$lng, $lat]) {
            $this->same(fn ($c) => $c->geoAdd($key, $lng, $lat, $city));
        }
    }

    public function testGeo(): void
    {
        $this->cities('gk');
        $args = ['gk'];
        foreach (self::CITIES as $city => [$lng, $lat]) {
            array_push($args, $lng, $lat, $city);
        }
        $this->same(fn ($c) => $c->geoAdd(...$args));
        $this->same(fn ($c) => $c->geoPos('gk', 'Chico', 'nowhere', 'Sacramento'));
        $this->same(fn ($c) => $c->geoPos('missing', 'a', 'b'));
        $this->same(fn ($c) => $c->geoHash('gk', 'Chico', 'nowhere'));
        $this->same(fn ($c) => $c->geoDist('gk', 'Chico', 'Cupertino'));
        $this->same(fn ($c) => $c->geoDist('gk', 'Chico', 'Cupertino', 'km'));
        $this->same(fn ($c) => $c->geoDist('gk', 'Chico', 'nowhere'));
        [$lng, $lat] = self::CITIES['Chico'];
        foreach ([[], ['WITHDIST'], ['WITHCOORD', 'withhash', 'DESC'], ['count' => 2, 'ASC'],
                  ['WITHDIST', 'count' => 1]] as $options) {
            $this->same(fn ($c) => $c->geoRadius('gk', $lng, $lat, 50, 'mi', $options));
            $this->same(fn ($c) => $c->geoRadius_ro('gk', $lng, $lat, 50, 'mi', $options));
            $this->same(fn ($c) => $c->geoRadiusByMember('gk', 'Chico', 50, 'mi', $options));
            $this->same(fn ($c) => $c->geoRadiusByMember_ro('gk', 'Chico', 50, 'mi', $options));
        }
        foreach ([-1, 0, 'notanumber'] as $count) {
            $this->same(fn ($c) => @$c->geoRadius('gk', $lng, $lat, 10, 'mi', ['count' => $count]));
        }
        $this->same(fn ($c) => @$c->geoRadius('gk', $lng, $lat, 10, 'mi', ['WITHDIST', 'STORE' => 'x']));
        $this->same(fn ($c) => $c->geoRadius('gk', $lng, $lat, 50, 'mi', ['STORE' => 'near{gk}']));
        $this->same(fn ($c) => $c->zRange('near{gk}', 0, -1));
        $this->same(fn ($c) => $c->geoRadiusByMember('gk', 'Chico', 50, 'mi', ['STOREDIST' => 'far']));
        $this->same(fn ($c) => $c->zCard('far'));
    }

    public function testGeoSerializedMembersAndNestedNulls(): void
    {
        // Members of geoAdd, geoPos and geoHash go through the serializer (phpredis 5.3.7 also
        // serializes geoAdd's coordinates, which Redis refuses; ours sends numbers, as 6.x).
        $this->option(Redis::OPT_SERIALIZER, Redis::SERIALIZER_PHP);
        $this->assertSame(1, $this->r->geoAdd('g', 13.361389, 38.115556, 'Palermo'));
        $member = $this->oracle->_serialize('Palermo');
        $this->option(Redis::OPT_SERIALIZER, Redis::SERIALIZER_NONE);
        $this->assertSame(1, $this->oracle->geoAdd('g', 13.361389, 38.115556, $member));
        $this->same(fn ($c) => $c->zRange('g', 0, -1));
        $this->option(Redis::OPT_SERIALIZER, Redis::SERIALIZER_PHP);
        $this->same(fn ($c) => $c->geoPos('g', 'Palermo', 'Catania'));
        $this->same(fn ($c) => $c->geoHash('g', 'Palermo'));
        foreach ([false, true] as $null) {
            $this->option(Redis::OPT_NULL_MULTIBULK_AS_NULL, $null);
            $this->same(fn ($c) => $c->geoPos('nothing{g}', 'm1', 'm2'));
            $this->same(fn ($c) => $c->multi()->geoPos('nothing{g}', 'm1')->geoPos('g', 'Palermo')->exec());
        }
    }

    public function testGeoSearch(): void
    {
        // Not in phpredis 5.3.7: ours alone, against the same query sent raw.
        $this->cities('{g}src');
        [$lng, $lat] = self::CITIES['Chico'];
        $raw = $this->r->rawCommand('GEOSEARCH', '{g}src', 'FROMMEMBER', 'Chico', 'BYRADIUS', 50, 'mi', 'ASC');
        $this->assertSame(['Chico', 'Gridley', 'Marysville'], $raw);
        $this->assertSame($raw, $this->r->geoSearch('{g}src', 'Chico', 50, 'mi', ['ASC']));
        $this->assertSame($raw, $this->r->geoSearch('{g}src', [$lng, $lat], 50, 'mi', ['asc']));
        $this->assertSame(['Chico'], $this->r->geoSearch('{g}src', 'Chico', [10, 10], 'km', ['count' => 1]));
        $with = $this->r->geoSearch('{g}src', 'Chico', 50, 'mi', ['WITHDIST', 'WITHHASH', 'WITHCOORD', 'ASC', 'count' => 2]);
        $this->assertSame(['Chico', 'Gridley'], array_keys($with));
        [$dist, $hash, [$x, $y]] = $with['Chico'];
        $this->assertSame(0.0, $dist);
        $this->assertIsInt($hash);
        $this->assertEqualsWithDelta($lng, $x, 1e-5);
        $this->assertEqualsWithDelta($lat, $y, 1e-5);
        $this->assertSame(3, $this->r->geoSearchStore('dst{g}', '{g}src', 'Chico', 50, 'mi'));
        $this->assertSame(2, $this->r->geoSearchStore('dst{g}', '{g}src', 'Chico', 50, 'mi', ['count' => 2, 'STOREDIST']));
        $this->assertSame(0.0, $this->r->zScore('dst{g}', 'Chico'));
        $this->assertFalse($this->r->geoSearch('{g}src', 'Chico', 50, 'mi', ['count' => 0]));
    }
}
