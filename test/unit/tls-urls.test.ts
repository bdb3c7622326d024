// TLS connection URLs: the configuration accepts them, and every driver that reads them opens TLS.
// No TLS server is needed: a plain TCP listener on loopback records the first bytes each driver
// sends. PostgreSQL asks for TLS with an SSLRequest packet; a TLS client opens with a handshake
// record (0x16). The same drivers given plain URLs send a StartupMessage and RESP instead, so
// the test tells the two apart.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/infra/db/database.js';
import { openJobQueue } from '../../src/infra/queue/open.js';
import { PostgresNotifier } from '../../src/infra/queue/notifier.js';
import { createRedisClient } from '../../src/infra/redis/connection.js';

interface Listener {
  port: number;
  /** the first bytes of each connection, once some arrived */
  firstBytes(): Promise<Buffer>;
  close(): Promise<void>;
}

async function recordingListener(answer?: Buffer): Promise<Listener> {
  let resolveFirst!: (bytes: Buffer) => void;
  const first = new Promise<Buffer>((resolve) => (resolveFirst = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', (data) => {
      resolveFirst(data);
      if (answer) socket.end(answer);
      else socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    firstBytes: () => Promise.race([first, new Promise<Buffer>((_, reject) => setTimeout(() => reject(new Error('nothing arrived within 5 s')), 5_000))]),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const SSL_REQUEST = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f]);
const isTlsClientHello = (bytes: Buffer) => bytes[0] === 0x16 && bytes[1] === 0x03;
const log = { warn() {}, info() {}, error() {}, debug() {} };

describe('TLS connection URLs', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const listen = async (answer?: Buffer) => {
    const listener = await recordingListener(answer);
    cleanups.push(() => listener.close());
    return listener;
  };

  it('are accepted by the configuration', () => {
    const config = loadConfig({ WORKYARD_DATABASE_URL: 'postgres://u:p@db.example:5432/workyard?sslmode=require', WORKYARD_REDIS_URL: 'rediss://:secret@cache.example:6380' });
    expect(config.databaseUrl).toBe('postgres://u:p@db.example:5432/workyard?sslmode=require');
    expect(config.redisUrl).toBe('rediss://:secret@cache.example:6380');
  });

  it('sslmode=require makes the PostgreSQL pool ask for TLS first (and a plain URL does not)', async () => {
    for (const [query, expectTls] of [['?sslmode=require', true], ['', false]] as const) {
      // 'N': this server does not speak TLS, so a client that insisted on it must give up.
      const listener = await listen(Buffer.from('N'));
      const database = openDatabase({ url: `postgres://postgres@127.0.0.1:${listener.port}/db${query}`, dataDir: '/nonexistent', timeoutMs: 2_000 });
      cleanups.push(() => database.close());
      const ping = database.ping().then(() => 'answered', (error: Error) => error.message);
      const first = await listener.firstBytes();
      expect(first.subarray(0, 8).equals(SSL_REQUEST), `first bytes ${first.subarray(0, 8).toString('hex')}`).toBe(expectTls);
      expect(await ping).not.toBe('answered');
    }
  });

  it('sslmode=require reaches the LISTEN connection of the SQL queue too', async () => {
    const listener = await listen(Buffer.from('N'));
    const url = `postgres://postgres@127.0.0.1:${listener.port}/db?sslmode=require`;
    const database = openDatabase({ url, dataDir: '/nonexistent', timeoutMs: 2_000 });
    const notifier = new PostgresNotifier(url, database.db);
    cleanups.push(() => database.close(), () => notifier.close());
    void notifier.start();
    expect((await listener.firstBytes()).subarray(0, 8).equals(SSL_REQUEST)).toBe(true);
  });

  it('rediss:// makes the Redis clients open with a TLS handshake (and redis:// does not)', async () => {
    for (const [scheme, expectTls] of [['rediss', true], ['redis', false]] as const) {
      const listener = await listen();
      const client = createRedisClient({ redisUrl: `${scheme}://127.0.0.1:${listener.port}`, dependencyTimeoutMs: 500 });
      cleanups.push(() => client.disconnect());
      const first = await listener.firstBytes();
      expect(isTlsClientHello(first), `first bytes ${first.subarray(0, 8).toString('hex')}`).toBe(expectTls);
    }
  });

  it('rediss:// reaches the BullMQ queue driver', async () => {
    const listener = await listen();
    const { queue } = await openJobQueue({ redisUrl: `rediss://127.0.0.1:${listener.port}`, redisPrefix: 'tls-test', dependencyTimeoutMs: 500 }, undefined, log);
    cleanups.push(() => queue.close(0));
    void queue.ping().catch(() => {});
    expect(isTlsClientHello(await listener.firstBytes())).toBe(true);
  });
});
