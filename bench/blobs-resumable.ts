// bench:blobs, resumable uploads: what a tus upload costs against one plain PUT of the same bytes
// to the same Workyard, in the same run — whole, and cut at half way then resumed by a new client
// (tus-js-client both times). Disk store, and S3 on moto's server (s3rver lacks the multipart
// calls @tus/s3-store makes; see test/support/moto.ts). Returns rows for the blobs section.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createBlobsModule } from '../src/modules/blobs/index.js';
import { type MotoHandle, startMoto } from '../test/support/moto.js';
import { startTusUpload, writeDeterministicFile } from '../test/support/tus.js';
import { type TestWorkyard, startTestWorkyard } from '../test/support/workyard.js';
import type { BenchRow } from './lib/report.js';

const MB = 1024 * 1024;
const SIZE = 100 * MB;
const CHUNK = 8 * MB;

/** Seconds of one PUT of the file to /blobs/{key}, streamed with its Content-Length. */
function plainPut(baseUrl: string, key: string, file: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(`/blobs/${key}`, baseUrl), { method: 'PUT', headers: { 'content-length': SIZE, 'content-type': 'application/octet-stream' } }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 201 ? resolve((performance.now() - started) / 1000) : reject(new Error(`PUT ${key}: ${response.statusCode}`))));
    });
    request.on('error', reject);
    fs.createReadStream(file).pipe(request);
  });
}

/** Seconds of a whole tus upload, from its creation to the blob having landed. */
async function wholeUpload(baseUrl: string, key: string, file: string): Promise<number> {
  const started = performance.now();
  await startTusUpload(baseUrl, fs.createReadStream(file), { chunkSize: CHUNK, metadata: { key } }).done;
  return (performance.now() - started) / 1000;
}

/**
 * Seconds of a tus upload cut when half sent (the PATCH in flight is lost) and resumed by a new
 * client that knows only the upload's URL: from the creation to the blob having landed, the wait
 * for the cut to settle on the server excluded.
 */
async function resumedUpload(baseUrl: string, key: string, file: string): Promise<{ seconds: number; resentShare: number }> {
  const started = performance.now();
  let cutAt = 0;
  const first = startTusUpload(baseUrl, fs.createReadStream(file), {
    chunkSize: CHUNK,
    metadata: { key },
    onAt: (sent, total, run) => {
      if (!cutAt && sent >= total / 2) {
        cutAt = performance.now();
        void run.upload.abort();
      }
    },
  });
  first.done.catch(() => undefined);
  while (!cutAt) await new Promise((resolve) => setTimeout(resolve, 5));
  const firstPart = cutAt - started;
  // Until the server has stored what reached it, a new client would find an offset still moving.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const resumed = performance.now();
  const second = startTusUpload(baseUrl, fs.createReadStream(file), { chunkSize: CHUNK, uploadUrl: first.upload.url!, metadata: { key } });
  await second.done;
  const secondPart = performance.now() - resumed;
  return { seconds: (firstPart + secondPart) / 1000, resentShare: (SIZE - second.patchOffsets[0]) / SIZE };
}

export async function resumableUploadRows(workDir: string, rounds: number): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const file = path.join(workDir, 'tus-source.bin');
  await writeDeterministicFile(file, SIZE, 'bench');
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  let moto: MotoHandle | undefined;
  try {
    moto = await startMoto();
    for (const variant of [
      { store: 'disk', env: {} as Record<string, string> },
      { store: 'S3 (moto)', env: moto.env('bench-tus') },
    ]) {
      const dataDir = fs.mkdtempSync(path.join(workDir, 'workyard-tus-'));
      const wy: TestWorkyard = await startTestWorkyard({ ...variant.env, WORKYARD_DATA_DIR: dataDir, WORKYARD_LOG_LEVEL: 'warn', WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' }, { modules: [createBlobsModule()] });
      try {
        // Interleaved rounds, best of each: the machine is shared, so single runs swing.
        let put = Infinity;
        let whole = Infinity;
        let resumed = Infinity;
        let resent = 0;
        for (let round = 0; round < rounds; round++) {
          put = Math.min(put, await plainPut(wy.baseUrl, 'bench/tus-plain', file));
          whole = Math.min(whole, await wholeUpload(wy.baseUrl, 'bench/tus-whole', file));
          const cut = await resumedUpload(wy.baseUrl, 'bench/tus-resumed', file);
          if (cut.seconds < resumed) [resumed, resent] = [cut.seconds, cut.resentShare];
        }
        const ceiling = { name: `plain PUT 100 MB, ${variant.store}`, value: SIZE / MB / put };
        rows.push({ figure: `tus upload 100 MB, ${variant.store}, whole`, value: SIZE / MB / whole, unit: 'MB/s', ceiling, ratio: put / whole });
        rows.push({ figure: `tus upload 100 MB, ${variant.store}, cut at 50 % and resumed by a new client`, value: SIZE / MB / resumed, unit: 'MB/s', ceiling, ratio: put / resumed });
        notes.push(`Resumed upload, ${variant.store}: the second client sent ${(resent * 100).toFixed(1)} % of the bytes, from the offset the server held after the cut.`);
      } finally {
        await wy.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
      console.log(`measured resumable uploads, ${variant.store}`);
    }
  } finally {
    await moto?.stop();
    fs.rmSync(file, { force: true });
  }
  notes.push(
    `Resumable uploads (tus-js-client, ${CHUNK / MB} MB PATCHes, best of ${rounds}): MB/s from the creation request to the blob having landed, against one plain PUT of the same 100 MB to the same Workyard in the same run. A tus upload writes its bytes twice — into the upload store as they come, then from there into the blob store when the last byte arrives (on S3, read back and put again) — so whole uploads run at about half a plain PUT at best; the resumed upload adds a HEAD, a new connection and whatever of the PATCH in flight at the cut did not reach the server, and excludes the 0.5 s the bench waits after the cut. moto is a Python S3 emulator holding objects in memory: the S3 rows measure Workyard plus moto. Measured on a machine shared with other test runs: single rounds swing (the resumed upload came out faster than the whole one), so read these as the cost's order of magnitude.`,
  );
  return { rows, notes };
}
