// bench:blobs, write rules: what a condition (If-None-Match: *: on disk one look and a hard link
// that fails on an existing name; on S3 a look and the server's own If-None-Match where it honours
// it, as moto does, else the key's lock, as on s3rver) costs a 1 KB PUT, and what checking a
// client's digest (Repr-Digest, sha-256) costs a 100 MB PUT — each against the same PUT without
// it, to the same Workyard, in the same run, interleaved. Returns rows for the blobs section.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createBlobsModule } from '../src/modules/blobs/index.js';
import { startMoto } from '../test/support/moto.js';
import type { S3rverHandle } from '../test/support/s3rver.js';
import { startTestWorkyard } from '../test/support/workyard.js';
import { load } from './lib/load.js';
import type { BenchRow } from './lib/report.js';
import { median } from './lib/median.js';

const MB = 1024 * 1024;
const LARGE = 100 * MB;
const small = Buffer.alloc(1024, 5);
const large = Buffer.alloc(LARGE, 9);
const largeDigest = `sha-256=:${createHash('sha256').update(large).digest('base64')}:`;

/** PUTs of 1 KB per second, each to a key of its own (a create-only put must create). */
async function smallPuts(baseUrl: string, label: string, headers: Record<string, string>, seconds: number): Promise<number> {
  let i = 0;
  const result = await load({
    url: baseUrl,
    connections: 32,
    duration: seconds,
    requests: [{ method: 'PUT', body: small, headers: { 'content-type': 'application/octet-stream', ...headers }, setupRequest: (request) => ({ ...request, path: `/blobs/bench/rules/${label}/${i++}` }) }],
  });
  if (result.errors || result.non2xx) throw new Error(`PUT 1 KB (${label}): ${result.errors} errors, ${result.non2xx} non-2xx of ${result.total}`);
  return result.requestsPerSecond;
}

/** Seconds of one 100 MB PUT, sent in 1 MB writes. */
function largePut(baseUrl: string, key: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(`/blobs/${key}`, baseUrl), { method: 'PUT', headers: { 'content-length': LARGE, ...headers } }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 201 ? resolve((performance.now() - started) / 1000) : reject(new Error(`PUT ${key}: ${response.statusCode}`))));
    });
    request.on('error', reject);
    let at = 0;
    const writeMore = () => {
      while (at < LARGE) {
        const chunk = large.subarray(at, at + MB);
        at += MB;
        if (!request.write(chunk)) return void request.once('drain', writeMore);
      }
      request.end();
    };
    writeMore();
  });
}

export async function writeRuleRows(workDir: string, s3: S3rverHandle, options: { seconds: number; rounds: number }): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const rows: BenchRow[] = [];
  const moto = await startMoto();
  try {
  for (const variant of [
    { store: 'disk', env: {}, large: true },
    { store: 's3rver', env: s3.env('bench-rules'), large: true },
    // moto keeps objects in memory: 100 MB puts there measure moto, so only the condition is measured
    { store: 'moto', env: moto.env('bench-rules'), large: false },
  ]) {
    const dataDir = fs.mkdtempSync(path.join(workDir, 'rules-'));
    const wy = await startTestWorkyard({ ...variant.env, WORKYARD_DATA_DIR: dataDir, WORKYARD_LOG_LEVEL: 'warn', WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' }, { modules: [createBlobsModule()] });
    try {
      const plain: number[] = [];
      const conditional: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        plain.push(await smallPuts(wy.baseUrl, `plain-${round}`, {}, options.seconds));
        conditional.push(await smallPuts(wy.baseUrl, `create-${round}`, { 'if-none-match': '*' }, options.seconds));
      }
      const plainRate = median(plain);
      rows.push({
        figure: `PUT 1 KB with If-None-Match: *, ${variant.store}`,
        value: median(conditional),
        unit: 'req/s',
        ceiling: { name: `plain PUT 1 KB, ${variant.store}`, value: plainRate },
        ratio: median(conditional) / plainRate,
        goal: '≥ 0.9 × ceiling',
        met: median(conditional) / plainRate >= 0.9,
      });
      if (!variant.large) continue;
      const without: number[] = [];
      const withDigest: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        without.push(LARGE / MB / (await largePut(wy.baseUrl, 'bench/rules/large', {})));
        withDigest.push(LARGE / MB / (await largePut(wy.baseUrl, 'bench/rules/large', { 'repr-digest': largeDigest })));
      }
      rows.push({
        figure: `PUT 100 MB with Repr-Digest (sha-256) checked, ${variant.store}`,
        value: median(withDigest),
        unit: 'MB/s',
        ceiling: { name: `PUT 100 MB without, ${variant.store}`, value: median(without) },
        ratio: median(withDigest) / median(without),
        goal: '≥ 0.9 × ceiling',
        met: median(withDigest) / median(without) >= 0.9,
      });
    } finally {
      await wy.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  } finally {
    await moto.stop();
  }
  return {
    rows,
    notes: [
      `Write rules: each figure against the same PUT without the rule, to the same Workyard (embedded database; a create-only PUT of up to 1 MiB is read into memory and goes straight to the store's create: on disk a hard link that fails when another writer got there first, on S3 a put with S3's own If-None-Match where the server honours it — moto does; where it does not — s3rver — the PUT holds the key's lock, a lock file in the data directory, while it looks and puts), interleaved, median of ${options.rounds}; 1 KB PUTs go each to a key of their own (32 connections, ${options.seconds} s), 100 MB PUTs one at a time. Every PUT computes its sha-256 (it is kept with the blob), so the digest row measures the check and the header alone; on S3 a streamed PUT over 1 MiB without a digest also copies the object onto itself to record its sha-256 after the fact, which the digest row skips (smaller bodies are read whole and put with it).`,
    ],
  };
}
