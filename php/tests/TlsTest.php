<?php
// TLS from PHP: phpredis's 'ssl' stream-context option (cafile, local_cert, local_pk,
// verify_peer) against a redis-server listening with --tls-port and requiring client
// certificates; certificates from tests/tls/make-certs.sh.

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use RedisCluster\ConnectionException;
use RedisCluster\RedisCluster;

final class TlsTest extends TestCase
{
    /** @var resource|null */
    private static $server = null;
    private static string $certs;
    private static int $port;

    public static function setUpBeforeClass(): void
    {
        self::$port = Servers::$base + 7;
        self::$certs = sys_get_temp_dir() . '/rediscluster-php-tls-' . getmypid();
        exec('bash ' . escapeshellarg(Servers::ROOT . '/tests/tls/make-certs.sh') . ' '
            . escapeshellarg(self::$certs) . ' 2>&1', $output, $status);
        self::assertSame(0, $status, implode("\n", $output));
        $dir = self::$certs . '/server-dir';
        @mkdir($dir, 0777, true);
        self::$server = proc_open(
            ['redis-server', ...rediscluster_server_args(), '--port', '0',
             '--tls-port', (string) self::$port, '--dir', $dir,
             '--tls-cert-file', self::$certs . '/server.crt',
             '--tls-key-file', self::$certs . '/server.key',
             '--tls-ca-cert-file', self::$certs . '/ca.crt', '--tls-auth-clients', 'yes'],
            [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        $deadline = microtime(true) + 10;
        while (@fsockopen('127.0.0.1', self::$port) === false) {
            if (microtime(true) > $deadline) {
                self::fail('the TLS redis-server did not start');
            }
            usleep(20000);
        }
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$server !== null) {
            proc_terminate(self::$server);
            proc_close(self::$server);
        }
    }

    private function client(array $ssl): RedisCluster
    {
        return new RedisCluster(
            ['nodes' => ['node_1' => ['host' => '127.0.0.1', 'port' => self::$port]]],
            0,
            true,
            ['timeout' => 2, 'ssl' => $ssl]
        );
    }

    public function testTlsWithClientCertificate(): void
    {
        $r = $this->client([
            'cafile' => self::$certs . '/ca.crt',
            'local_cert' => self::$certs . '/client.crt',
            'local_pk' => self::$certs . '/client.key',
            'verify_peer' => true,
        ]);
        $this->assertTrue($r->set('over-tls', 'yes'));
        $this->assertSame('yes', $r->get('over-tls'));
        $this->assertSame(['yes', false], $r->mGet(['over-tls', 'missing']));
    }

    public function testAnUntrustedServerIsAConnectionError(): void
    {
        $r = $this->client([
            'cafile' => self::$certs . '/other-ca.crt',
            'local_cert' => self::$certs . '/client.crt',
            'local_pk' => self::$certs . '/client.key',
        ]);
        $this->expectException(ConnectionException::class);
        $this->expectExceptionMessage('TLS');
        $r->get('over-tls');
    }

    public function testBadTlsOptionsAreRefusedBeforeConnecting(): void
    {
        try {
            $this->client(['cafile' => '/nonexistent/ca.pem']);
            $this->fail('a missing CA file must be refused');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString('/nonexistent/ca.pem', $e->getMessage());
        }
        try {
            $this->client(['ciphers' => 'x']);
            $this->fail('an unknown key must be refused');
        } catch (\RedisCluster\Exception $e) {
            $this->assertStringContainsString("unknown key 'ciphers'", $e->getMessage());
        }
    }
}
