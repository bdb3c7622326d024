// A 200 MB upload whose client is killed at 90 %, resumed by a new tus-js-client from the offset the server holds:
// the second client sends only the rest, and the landed blob is byte for byte the source. The
// source is a file written once from a deterministic stream (the client seeks in it to resume),
// and the landed bytes are hashed as they stream back: neither side holds 200 MB in memory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, rawRequest } from '../../../test/support/blobs.js';
import { sha256OfUrl, startTusClientProcess, startTusUpload, writeDeterministicFile } from '../../../test/support/tus.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';

const SIZE = 200 * 1024 * 1024;
const TUS = { 'tus-resumable': '1.0.0' };

let app: TestWorkyard;
let scratch: string;
let source: string;
let sha256: string;
beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-tus-resume-'));
  source = path.join(scratch, 'source.bin');
  sha256 = await writeDeterministicFile(source, SIZE, 'resume-at-90');
  app = await startTestWorkyard();
});
afterAll(async () => {
  await app?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const offsetAt = async (location: string) => Number((await rawRequest(app.baseUrl, { method: 'HEAD', path: location, headers: TUS })).headers['upload-offset'] ?? -1);

describe('a client killed at 90 % of a 200 MB upload', () => {
  it('resumes from the server\'s offset with a new client, sends only the rest, and lands the same bytes', async () => {
    // The first client runs in a process of its own, stops itself once 90 % is sent, and is
    // killed there (SIGKILL) in the middle of a PATCH.
    const first = startTusClientProcess(app.baseUrl, source, { chunkSize: 8 * 1024 * 1024, metadata: { key: 'tus/resume/200mb.bin', sha256 }, freezeAt: SIZE * 0.9 });
    const url = await first.url;
    expect(await first.frozen).toBeGreaterThanOrEqual(SIZE * 0.9);
    await first.kill();
    const location = new URL(url).pathname;
    // The server keeps what reached it before the cut; wait until its offset stops moving.
    let offset = -1;
    await expect
      .poll(async () => {
        const previous = offset;
        offset = await offsetAt(location);
        return offset > 0 && offset === previous;
      }, { timeout: 15_000, interval: 100 })
      .toBe(true);
    expect(offset).toBeGreaterThan(SIZE * 0.85);
    expect(offset).toBeLessThan(SIZE);
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/resume/200mb.bin') })).status).toBe(404);

    // A new client, as after a restart: it knows the upload's URL, and nothing else of the first.
    const second = startTusUpload(app.baseUrl, fs.createReadStream(source), { uploadUrl: app.baseUrl + location, metadata: { key: 'tus/resume/200mb.bin', sha256 } });
    await second.done;
    expect(second.patchOffsets[0]).toBe(offset);
    const resent = SIZE - second.patchOffsets[0];
    expect(resent).toBeLessThan(SIZE * 0.2);

    const landed = await sha256OfUrl(app.baseUrl + blobPath('tus/resume/200mb.bin'));
    expect(landed).toMatchObject({ status: 200, size: SIZE, sha256 });
  }, 120_000);
});
