// The fault proxy itself: what the other fault tests rely on it to do.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.js';

function roundTrip(port: number, timeoutMs = 3_000): Promise<{ reply: string; ms: number } | { error: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (result: { reply: string } | { error: string }) => {
      socket.destroy();
      resolve({ ...result, ms: Date.now() - started });
    };
    socket.setTimeout(timeoutMs, () => done({ error: 'timeout' }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    socket.once('close', () => done({ error: 'closed' }));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done({ reply: data.toString().trim() }));
  });
}

describe('fault proxy in front of a private redis-server', () => {
  let redis: PrivateRedis;
  let proxy: FaultProxy;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await redis?.stop();
  });

  it('passes traffic, cuts it, holds it, slows replies and restores it', async () => {
    expect(await roundTrip(proxy.port)).toMatchObject({ reply: '+PONG' });

    proxy.cut();
    const cut = await roundTrip(proxy.port);
    expect(cut).toMatchObject({ error: expect.stringMatching(/ECONNRESET|closed/) });
    expect(cut.ms).toBeLessThan(500);

    proxy.blackhole();
    expect(await roundTrip(proxy.port, 400)).toMatchObject({ error: 'timeout' });

    proxy.slow(700);
    const slow = await roundTrip(proxy.port);
    expect(slow).toMatchObject({ reply: '+PONG' });
    expect(slow.ms).toBeGreaterThanOrEqual(650);

    proxy.restore();
    const restored = await roundTrip(proxy.port);
    expect(restored).toMatchObject({ reply: '+PONG' });
    expect(restored.ms).toBeLessThan(500);
    expect(proxy.faultsInjected).toBe(3);
  });

  it('resets connections that were open when the cut came', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.cut();
    await closed;
    proxy.restore();
  });
});
