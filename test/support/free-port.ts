// A loopback port for a server a test starts itself (redis-server, s3rver, a restarted Workyard).
import net from 'node:net';

/** A loopback port nothing listens on (at the moment it is returned). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
