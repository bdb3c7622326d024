// Benchmark: PUT and GET of 1 KB, 1 MB and 100 MB blobs through the native routes, on the disk
// store and on s3rver, write-through and write-behind, beside a bare Fastify route that streams
// the same bytes from a file on disk (GET) or into one (PUT), measured in the same run. Embedded
// database (SQLite, SQL queue, workers in the same process); everything on loopback.
//   1 KB and 1 MB: autocannon for a few seconds (PUTs rotate over 50 keys, so disk use stays small).
//   100 MB: whole transfers one after another, in MB/s.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';
import { createWebhooksModule } from '../src/modules/webhooks/index.js';
import { createBlobsModule } from '../src/modules/blobs/index.js';
import { type S3rverHandle, startS3rver } from '../test/support/s3rver.js';
import { type TestWorkyard, startTestWorkyard } from '../test/support/workyard.js';
import { resumableUploadRows } from './blobs-resumable.js';
import { s3DirectGetRows } from './blobs-s3-direct.js';
import { writeRuleRows } from './blobs-write-rules.js';
import { load } from './lib/load.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';

const QUICK = quickMode();
const SECONDS = QUICK ? 1 : 4;
const LARGE_ROUNDS = QUICK ? 1 : 2;
const DEADLINE_MS = QUICK ? 240_000 : 600_000;
const KB = 1024;
const MB = 1024 * 1024;
const SIZES = [
  { label: '1 KB', bytes: KB, connections: 32 },
  { label: '1 MB', bytes: MB, connections: 8 },
] as const;
const LARGE = 100 * MB;

const deadline = setTimeout(() => {
  console.error(`bench:blobs did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-blobs-'));
const payloads = new Map<number, Buffer>(SIZES.map((size) => [size.bytes, Buffer.alloc(size.bytes, 7)]));

/** The ceiling: a bare Fastify app streaming a file from disk, and a body into a file. */
async function startCeiling() {
  const files = path.join(workDir, 'ceiling');
  fs.mkdirSync(files);
  const app = Fastify({ logger: false, bodyLimit: 200 * MB });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  app.get('/file/:name', async (request, reply) => {
    const file = path.join(files, (request.params as { name: string }).name);
    const { size } = await fs.promises.stat(file);
    return reply.header('content-type', 'application/octet-stream').header('content-length', size).send(fs.createReadStream(file));
  });
  app.put('/file/:name', async (request, reply) => {
    await pipeline(request.body as NodeJS.ReadableStream, fs.createWriteStream(path.join(files, (request.params as { name: string }).name)));
    return reply.code(201).send({ ok: true });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  for (const size of SIZES) fs.writeFileSync(path.join(files, `get-${size.bytes}`), payloads.get(size.bytes)!);
  return { url, files, close: () => app.close() };
}

/** Requests per second of a PUT (rotating over 50 keys) or a GET of one key. */
async function rate(baseUrl: string, method: 'PUT' | 'GET', pathOf: (i: number) => string, size: (typeof SIZES)[number]): Promise<number> {
  let i = 0;
  const result = await load({
    url: baseUrl,
    connections: size.connections,
    duration: SECONDS,
    requests: [
      {
        method,
        ...(method === 'PUT' ? { body: payloads.get(size.bytes), headers: { 'content-type': 'application/octet-stream' } } : {}),
        setupRequest: (request) => ({ ...request, path: pathOf(i++ % 50) }),
      },
    ],
  });
  if (result.errors || result.non2xx) throw new Error(`${method} ${size.label} on ${baseUrl}: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.total}`);
  return result.requestsPerSecond;
}

/** MB/s of whole 100 MB transfers, one after another. */
async function largeTransfers(baseUrl: string, method: 'PUT' | 'GET', urlPath: string): Promise<number> {
  const started = performance.now();
  for (let round = 0; round < LARGE_ROUNDS; round++) {
    await new Promise<void>((resolve, reject) => {
      const request = http.request(new URL(urlPath, baseUrl), { method, headers: method === 'PUT' ? { 'content-length': LARGE } : {} }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode! < 300 ? resolve() : reject(new Error(`${method} ${urlPath}: ${response.statusCode}`))));
      });
      request.on('error', reject);
      if (method === 'GET') return void request.end();
      const chunk = Buffer.alloc(MB, 3);
      let sent = 0;
      const writeMore = () => {
        while (sent < LARGE) {
          sent += MB;
          if (!request.write(chunk)) return void request.once('drain', writeMore);
        }
        request.end();
      };
      writeMore();
    });
  }
  return (LARGE_ROUNDS * LARGE) / MB / ((performance.now() - started) / 1000);
}

const rows: BenchRow[] = [];
const ceilingOf = new Map<string, number>();
const add = (figure: string, value: number, unit: string, ceilingKey: string, goal?: number) => {
  const ceiling = ceilingOf.get(ceilingKey)!;
  const ratio = value / ceiling;
  rows.push({ figure, value, unit, ceiling: { name: `bare Fastify ${ceilingKey}`, value: ceiling }, ratio, ...(goal ? { goal: `≥ ${goal} × ceiling`, met: ratio >= goal } : {}) });
};

let s3: S3rverHandle | undefined;
const s3DirectRows: BenchRow[] = [];
const s3DirectNotes: string[] = [];
const ceiling = await startCeiling();
try {
  for (const size of SIZES) {
    const unit = size.bytes === KB ? 'req/s' : 'MB/s';
    const scale = size.bytes === KB ? 1 : size.bytes / MB;
    ceilingOf.set(`PUT ${size.label}`, (await rate(ceiling.url, 'PUT', (i) => `/file/put-${size.bytes}-${i}`, size)) * scale);
    ceilingOf.set(`GET ${size.label}`, (await rate(ceiling.url, 'GET', () => `/file/get-${size.bytes}`, size)) * scale);
    console.log(`ceiling ${size.label}: PUT ${ceilingOf.get(`PUT ${size.label}`)!.toFixed(1)} ${unit}, GET ${ceilingOf.get(`GET ${size.label}`)!.toFixed(1)} ${unit}`);
  }
  ceilingOf.set('PUT 100 MB', await largeTransfers(ceiling.url, 'PUT', '/file/large'));
  ceilingOf.set('GET 100 MB', await largeTransfers(ceiling.url, 'GET', '/file/large'));
  fs.rmSync(path.join(ceiling.files, 'large'));

  s3 = await startS3rver({ directory: fs.mkdtempSync(path.join(workDir, 's3rver-')) });
  const variants = [
    { store: 'disk', mode: 'write-through', env: {} },
    { store: 'disk', mode: 'write-behind', env: { WORKYARD_BLOBS_WRITE_BEHIND: 'true' } },
    { store: 's3rver', mode: 'write-through', env: s3.env('bench-through') },
    { store: 's3rver', mode: 'write-behind', env: { ...s3.env('bench-behind'), WORKYARD_BLOBS_WRITE_BEHIND: 'true' } },
  ];
  for (const variant of variants) {
    const blobs = createBlobsModule();
    const dataDir = fs.mkdtempSync(path.join(workDir, 'workyard-'));
    const wy: TestWorkyard = await startTestWorkyard({ ...variant.env, WORKYARD_DATA_DIR: dataDir, WORKYARD_LOG_LEVEL: 'warn', WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' }, { modules: [blobs, createWebhooksModule()] });
    const name = `${variant.store}, ${variant.mode}`;
    const tier = wy.workyard.instanceOf(blobs).service.writeBehind?.tier;
    // #23's goals for small objects hold for the default shape: disk, write-through.
    const smallGoals = variant.store === 'disk' && variant.mode === 'write-through';
    try {
      for (const size of SIZES) {
        const unit = size.bytes === KB ? 'req/s' : 'MB/s';
        const scale = size.bytes === KB ? 1 : size.bytes / MB;
        add(`PUT ${size.label}, ${name}`, (await rate(wy.baseUrl, 'PUT', (i) => `/blobs/bench/put-${size.bytes}-${i}`, size)) * scale, unit, `PUT ${size.label}`, smallGoals && size.bytes === KB ? 0.6 : undefined);
        const key = `bench/get-${size.bytes}`;
        await wy.workyard.app.inject({ method: 'PUT', url: `/blobs/${key}`, payload: payloads.get(size.bytes)! });
        // Steady state: the uploads of the PUTs above are done (they would compete with the GETs)
        // and the object is in the store, so write-behind GETs miss the fast tier.
        for (let waited = 0; tier && (await tier.list({ prefix: '', limit: 1 })).length && waited < 120_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
        add(`GET ${size.label}, ${name}`, (await rate(wy.baseUrl, 'GET', () => `/blobs/${key}`, size)) * scale, unit, `GET ${size.label}`, size.bytes === MB ? 0.7 : smallGoals && size.bytes === KB ? 0.8 : undefined);
      }
      if (variant.store === 's3rver' && variant.mode === 'write-through') {
        const direct = await s3DirectGetRows(s3, 'bench-through', wy.baseUrl, `bench/get-${MB}`, { rounds: QUICK ? 1 : 3, seconds: SECONDS });
        s3DirectRows.push(...direct.rows);
        s3DirectNotes.push(...direct.notes);
      }
      // 100 MB objects always stream straight to the store (write-behind takes up to 1 MB), so
      // they are measured once per store.
      if (variant.mode === 'write-through') {
        add(`PUT 100 MB, ${variant.store}`, await largeTransfers(wy.baseUrl, 'PUT', '/blobs/bench/large'), 'MB/s', 'PUT 100 MB');
        add(`GET 100 MB, ${variant.store}`, await largeTransfers(wy.baseUrl, 'GET', '/blobs/bench/large'), 'MB/s', 'GET 100 MB');
        await wy.workyard.ctx.blobs.delete('bench/large');
      }
    } finally {
      await wy.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    console.log(`measured ${name}`);
  }

  rows.push(...s3DirectRows);

  // Conditions and digests against the same PUTs without them.
  const writeRules = await writeRuleRows(workDir, s3, { seconds: SECONDS, rounds: QUICK ? 1 : 3 });
  rows.push(...writeRules.rows);
  console.log('measured the write rules');

  // Resumable uploads (tus): rows and notes of their own, measured after the rest.
  const resumable = await resumableUploadRows(workDir, LARGE_ROUNDS);
  rows.push(...resumable.rows);

  recordSection({
    module: 'blobs',
    command: 'npm run bench:blobs',
    notes: [
      `Workyard (the blobs and webhooks modules, as \`workyard start\` has them, with no webhook endpoint: no blob.stored event is recorded), the ceiling app and the load generator (autocannon: 32 connections for 1 KB, 8 for 1 MB, ${SECONDS} s per figure) share one process and the machine's cores; s3rver runs in a child process. 100 MB: ${LARGE_ROUNDS} whole transfers in a row.`,
      'Ceiling: a bare Fastify route streaming the same bytes from a file (GET) or into a file without fsync (PUT). Workyard PUTs on disk fsync the file and its directory, so PUT ratios on disk show the price of durability.',
      'Embedded database (SQLite, SQL queue, upload workers in the same process). Write-behind keeps objects up to 1 MiB in SQLite until a worker uploads them; GETs are measured once every upload is done, so they include the fast-tier miss but not the upload work.',
      's3rver is a JavaScript S3 emulator (Koa, files on disk): s3rver rows measure Workyard plus s3rver, not what S3 would give.',
      ...s3DirectNotes,
      ...writeRules.notes,
      ...resumable.notes,
    ],
    rows,
  });
} finally {
  await ceiling.close();
  await s3?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
  clearTimeout(deadline);
}
