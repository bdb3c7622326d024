import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.js';
import { startMoto } from '../../../test/support/moto.js';
import { type S3rverHandle, S3RVER_CREDENTIALS, startS3rver } from '../../../test/support/s3rver.js';
import { blobStoreConformance } from './blobstore.conformance.js';
import { S3BlobStore } from './s3.js';

const s3Config = (endpoint: string, bucket: string) => ({ endpoint, bucket, region: 'us-east-1', forcePathStyle: true, ...S3RVER_CREDENTIALS });

let server: S3rverHandle;
beforeAll(async () => {
  server = await startS3rver();
});
afterAll(() => server?.stop());

// s3rver is slower than S3 under a busy test machine: the deadline here is generous on purpose.
blobStoreConformance('s3 (s3rver)', async () => {
  const store = new S3BlobStore(s3Config(server.endpoint, 'conformance'), { timeoutMs: 10_000, partSize: 5 * 1024 * 1024 });
  await store.start();
  return { store, cleanup: () => store.close(), atomicReplace: false, listsByFileName: true };
});

// moto discards a PUT whose body did not arrive whole and lists in byte order, as S3 does: the
// checks s3rver cannot pass run here (but for concurrent puts of one key, which moto fails).
blobStoreConformance('s3 (moto)', async () => {
  const moto = await startMoto();
  const store = new S3BlobStore({ endpoint: moto.endpoint, bucket: 'conformance', region: 'us-east-1', forcePathStyle: true, accessKeyId: 'moto', secretAccessKey: 'moto' }, { timeoutMs: 10_000, partSize: 5 * 1024 * 1024 });
  await store.start();
  return {
    store,
    concurrentPutsOfOneKey: false,
    cleanup: async () => {
      await store.close();
      await moto.stop();
    },
  };
});

describe('s3 blob store', () => {
  it('asks its server once whether it honours If-None-Match on puts (moto does, s3rver does not), leaves no probe behind, and takes a configured answer without asking', async () => {
    const moto = await startMoto();
    try {
      const honouring = new S3BlobStore({ endpoint: moto.endpoint, bucket: 'probed', region: 'us-east-1', forcePathStyle: true, accessKeyId: 'moto', secretAccessKey: 'moto' }, { timeoutMs: 10_000 });
      expect(await Promise.all([honouring.createsAtomically(), honouring.createsAtomically()])).toEqual([true, true]);
      expect((await honouring.list({ limit: 10 })).items).toEqual([]);
      await honouring.close();
    } finally {
      await moto.stop();
    }
    const ignoring = new S3BlobStore(s3Config(server.endpoint, 'probed'), { timeoutMs: 10_000 });
    expect(await ignoring.createsAtomically()).toBe(false);
    expect((await ignoring.list({ limit: 10 })).items).toEqual([]);
    await ignoring.close();
    // told so: not asked (the server here would have said false)
    const told = new S3BlobStore({ ...s3Config(server.endpoint, 'probed'), conditionalPuts: true }, { timeoutMs: 10_000 });
    expect(await told.createsAtomically()).toBe(true);
    await told.close();
  });

  it('creates its bucket on start, and a second node finds it there', async () => {
    const first = new S3BlobStore(s3Config(server.endpoint, 'made-on-start'), { timeoutMs: 10_000 });
    await first.start();
    await first.put('k', Buffer.from('v'));
    const second = new S3BlobStore(s3Config(server.endpoint, 'made-on-start'), { timeoutMs: 10_000 });
    await second.start();
    expect((await second.head('k'))!.size).toBe(1);
    await Promise.all([first.close(), second.close()]);
  });

  it('answers 503 naming s3 within the deadline when the server is unreachable', async () => {
    const port = await freePort();
    const store = new S3BlobStore(s3Config(`http://127.0.0.1:${port}`, 'nowhere'), { timeoutMs: 500 });
    await store.start(); // does not throw: the bucket is checked again on first use
    for (const call of [() => store.ping(), () => store.createsAtomically(), () => store.head('k'), () => store.get('k'), () => store.put('k', Buffer.from('v')), () => store.put('k', Readable.from([Buffer.from('v')])), () => store.list({ limit: 10 })]) {
      const started = Date.now();
      await expect(call()).rejects.toMatchObject({ code: 'dependency_unavailable', details: { dependency: 's3' } });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    await store.close();
  });

  it('answers 503 within the deadline when the server accepts connections but never answers', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as import('node:net').AddressInfo;
    const store = new S3BlobStore(s3Config(`http://127.0.0.1:${port}`, 'silent'), { timeoutMs: 400 });
    const started = Date.now();
    await expect(store.head('k')).rejects.toMatchObject({ code: 'dependency_unavailable', details: { dependency: 's3' } });
    expect(Date.now() - started).toBeLessThan(1_500);
    await store.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
});
