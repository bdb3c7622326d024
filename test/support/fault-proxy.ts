// A TCP proxy that injects faults between Workyard and one of its engines (Redis, PostgreSQL), so
// a test can cut, slow or restore a dependency without touching the machine's shared services.
//   cut()      every open connection is reset and new ones are closed as soon as they arrive
//   blackhole() connections stay open but nothing passes (a network partition: calls time out)
//   slow(ms)   every chunk the engine sends back is held ms before it is passed on
//   restore()  traffic passes again (connections cut earlier stay cut: clients reconnect)
import net from 'node:net';
import { createTestDatabase } from './services.js';

export type FaultMode = 'pass' | 'cut' | 'blackhole' | 'slow';

export interface FaultProxy {
  readonly port: number;
  readonly mode: FaultMode;
  /** how many faults were injected (each cut, blackhole or slow counts once) */
  readonly faultsInjected: number;
  /** connections accepted since the start, and open now */
  readonly connections: { total: number; open: number };
  cut(): void;
  blackhole(): void;
  slow(delayMs: number): void;
  restore(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: FaultMode = 'pass';
  let delayMs = 0;
  let faultsInjected = 0;
  let total = 0;
  const links = new Set<Link>();

  const server = net.createServer((client) => {
    total++;
    if (mode === 'cut') return void client.resetAndDestroy();
    const upstream = net.connect(target);
    const link: Link = { client, upstream };
    links.add(link);
    const drop = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    forward(client, upstream, () => 0);
    // Only replies are delayed: "slowed to 2 s per reply" means each answer arrives 2 s late.
    forward(upstream, client, () => (mode === 'slow' ? delayMs : 0));
  });

  /** Passes chunks on in order; in blackhole mode they are held back until restore (or dropped on cut). */
  function forward(from: net.Socket, to: net.Socket, delay: () => number) {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const wait = delay();
      const arrived = Date.now();
      chain = chain.then(async () => {
        const remaining = arrived + wait - Date.now();
        if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
        while (mode === 'blackhole' && !to.destroyed) await new Promise((resolve) => setTimeout(resolve, 20));
        if (!to.destroyed) to.write(chunk);
      });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    get mode() {
      return mode;
    },
    get faultsInjected() {
      return faultsInjected;
    },
    get connections() {
      return { total, open: links.size };
    },
    cut() {
      mode = 'cut';
      faultsInjected++;
      for (const link of links) {
        link.client.resetAndDestroy();
        link.upstream.destroy();
      }
      links.clear();
    },
    blackhole() {
      mode = 'blackhole';
      faultsInjected++;
    },
    slow(ms: number) {
      mode = 'slow';
      delayMs = ms;
      faultsInjected++;
    },
    restore() {
      mode = 'pass';
      delayMs = 0;
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A database of the test's own (createTestDatabase) that Workyard reaches through a fault proxy. */
export interface ProxiedTestDatabase {
  /** through the proxy: give it to Workyard */
  url: string;
  /** straight to PostgreSQL: for the test's own reads, whatever the proxy does */
  directUrl: string;
  proxy: FaultProxy;
  /** closes the proxy, then drops the database */
  close(): Promise<void>;
}

export async function proxiedTestDatabase(): Promise<ProxiedTestDatabase> {
  const database = await createTestDatabase();
  const direct = new URL(database.url);
  let proxy: FaultProxy;
  try {
    proxy = await startFaultProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  return {
    url: viaProxy.toString(),
    directUrl: database.url,
    proxy,
    async close() {
      await proxy.close();
      await database.drop();
    },
  };
}
