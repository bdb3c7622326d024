// Embedded shape, the process killed mid-harvest: `workyard start` harvests a page of 1,500 images
// (stored in packs, many images to a blob) and is SIGKILLed part-way. Every image the database
// lists as stored at that moment must have its bytes, whole and with its sha256, where its row
// says (pack and offset); after a restart on the same data directory the task runs again and
// ends with every image stored. A row recorded before its pack's put returned would point at
// bytes that never came.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/infra/blobstore/disk.js';
import { bytes, fakePng, html, slow, startFixtureSite } from '../support/harvest-fixture-site.js';
import { freePort } from '../support/free-port.js';
import { recordFigures } from '../support/suite-figures.js';
import { type WorkyardProcess, startWorkyardProcess } from '../support/workyard-process.js';

const IMAGES = 1_500;
const IMAGE_BYTES = 4 * 1024;

interface StoredRow {
  id: string;
  sha256: string;
  blob_key: string;
  blob_offset: number | null;
  size: number;
}

describe('embedded shape: SIGKILL during a 1,500-image harvest', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-fault-harvest-'));
  const processes: WorkyardProcess[] = [];
  let closeSite = async () => {};
  afterAll(async () => {
    for (const proc of processes) await proc.kill();
    await closeSite();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the bytes of every image listed as stored, and finishes the task after a restart', { timeout: 180_000 }, async ({ task }) => {
    const paths = Array.from({ length: IMAGES }, (_, i) => `/img/${i}.png`);
    const site = await startFixtureSite({ '/page.html': html(paths.map((p) => `<img src="${p}">`).join('\n')) });
    closeSite = () => site.close();
    // a few milliseconds an image: the harvest takes seconds, so the kill lands in its middle
    for (const [i, p] of paths.entries()) site.route(p, slow(3, bytes(fakePng(`kill-${i}`, IMAGE_BYTES), 'image/png')));

    const port = await freePort();
    const env = {
      WORKYARD_DATA_DIR: dataDir,
      WORKYARD_HARVEST_ALLOW_PRIVATE: 'true',
      WORKYARD_HARVEST_HOST_DELAY_MS: '0',
      WORKYARD_HARVEST_REQUESTS_PER_HOST: '8',
      WORKYARD_QUEUE_LEASE_MS: '2000',
      WORKYARD_SHUTDOWN_TIMEOUT_MS: '1000',
    };
    const first = await startWorkyardProcess('start', env, port);
    processes.push(first);
    const posted = await fetch(`${first.baseUrl}/images_tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${site.url}/page.html` }) });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };

    const dbPath = path.join(dataDir, 'workyard.sqlite');
    const storedRows = (db: SqliteDatabase.Database) =>
      db.prepare("select i.id, i.sha256, b.blob_key, b.blob_offset, b.size from harvest_images i join harvest_blobs b on b.sha256 = i.sha256 where i.status = 'done'").all() as StoredRow[];
    // Killed once about a third of the images are stored: downloads and packs are then in flight.
    const killAt = Math.floor(IMAGES * (0.2 + Math.random() * 0.3));
    const watcher = new SqliteDatabase(dbPath, { readonly: true, fileMustExist: true });
    const doneNow = watcher.prepare("select count(*) as n from harvest_images where status = 'done'");
    const deadline = Date.now() + 60_000;
    let doneSeen = 0;
    try {
      while (Date.now() < deadline && (doneSeen = (doneNow.get() as { n: number }).n) < killAt) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      watcher.close();
    }
    expect(doneSeen, `images stored before the deadline (${first.output()})`).toBeGreaterThanOrEqual(killAt);
    expect(await first.kill('SIGKILL')).toBe('SIGKILL');

    // The process is dead: what its database lists as stored is read from its files directly.
    const blobs = new DiskBlobStore({ dir: path.join(dataDir, 'blobs'), timeoutMs: 10_000 });
    const db = new SqliteDatabase(dbPath, { readonly: true, fileMustExist: true });
    const atKill = storedRows(db);
    db.close();
    const damaged: string[] = [];
    for (const row of atKill) {
      const range = row.blob_offset === null ? undefined : { start: Number(row.blob_offset), end: Number(row.blob_offset) + Number(row.size) - 1 };
      const blob = await blobs.get(row.blob_key, range);
      const held = blob ? Buffer.concat(await blob.body.toArray()) : Buffer.alloc(0);
      if (held.length !== Number(row.size) || createHash('sha256').update(held).digest('hex') !== row.sha256) damaged.push(`${row.id} in ${row.blob_key}@${row.blob_offset}`);
    }
    const packs = new Set(atKill.map((row) => row.blob_key)).size;

    const second = await startWorkyardProcess('start', env, port);
    processes.push(second);
    let finished: { status: string; images_count: number; images_failed: number } | undefined;
    for (const until = Date.now() + 90_000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 250))) {
      const res = await fetch(`${second.baseUrl}/images_tasks/${id}`);
      finished = (await res.json()) as typeof finished;
      if (finished!.status === 'done' || finished!.status === 'failed') break;
    }
    const images = (await (await fetch(`${second.baseUrl}/images_tasks/${id}/images`)).json()) as { id: string; sha256: string | null; href: string | null }[];
    const sample = images.filter((_, i) => i % 97 === 0);
    const servedWrong: string[] = [];
    for (const image of sample) {
      const res = await fetch(`${second.baseUrl}${image.href}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || createHash('sha256').update(body).digest('hex') !== image.sha256) servedWrong.push(image.id);
    }

    recordFigures(task, [{ subject: 'embedded: SIGKILL during a harvest', faults: 1, images: IMAGES, storedAtKill: atKill.length, packsAtKill: packs, damagedAtKill: damaged.length, storedAfterRestart: finished?.images_count ?? 0 }]);
    expect(atKill.length, 'images listed as stored when the process was killed').toBeGreaterThanOrEqual(killAt);
    expect(atKill.length, 'the kill landed before the task ended').toBeLessThan(IMAGES);
    expect(packs, 'the stored images share packs').toBeLessThan(atKill.length);
    expect(damaged, 'stored images whose bytes are missing or wrong').toEqual([]);
    expect(finished, second.output()).toMatchObject({ status: 'done', images_count: IMAGES, images_failed: 0 });
    expect(images.every((image) => image.sha256 !== null && image.href !== null)).toBe(true);
    expect(servedWrong).toEqual([]);
  });
});
