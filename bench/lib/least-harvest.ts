// The least an images task must do beyond downloading, written by hand with nothing else in the
// way: the floor any harvester with the same guarantees stands on. Each level adds one duty of
// #21 to plain undici's downloads:
//   hash  — each body's sha256 as it arrives (to deduplicate by content)
//   pack  — then every body written as one file, fsynced with its directory (stored durably in
//           the fewest calls there can be: one write, two fsyncs; packs written while the
//           downloads went on, each fsynced, measured slower and far less steady here: 74–179 ms
//           against 56–110 for one pack at the end)
//   rows  — then a row per image in SQLite (WAL, synchronous=NORMAL, as Workyard's), in one
//           transaction, once the pack is durable (recorded, after the bytes)
// No guard, robots.txt, claims, dedupe look-ups, limits or retries: Workyard's figure divided by
// the `rows` level is the price of those.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Agent, request } from 'undici';

export type LeastHarvestLevel = 'hash' | 'pack' | 'rows';

export interface LeastHarvestStore {
  dir: string;
  db: BetterSqlite3.Database;
}

/** A table for the `rows` level, in a database set as Workyard sets its own. */
export function openLeastHarvestStore(Database: typeof BetterSqlite3, dir: string): LeastHarvestStore {
  const db = new Database(path.join(dir, 'least.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table images (sha256 text primary key, url text not null, pack text not null, pack_offset integer not null, size integer not null)');
  return { dir, db };
}

let packs = 0;

/** Milliseconds to download `urls` (`concurrency` at a time) and do what `level` adds. */
export async function leastHarvest(urls: string[], concurrency: number, level: LeastHarvestLevel, store: LeastHarvestStore): Promise<number> {
  store.db.exec('delete from images');
  const agent = new Agent({ connections: concurrency });
  const started = performance.now();
  const images: { url: string; sha256: string; bytes: Buffer }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const url = urls[next++];
        const response = await request(url, { dispatcher: agent });
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        for await (const chunk of response.body) {
          hash.update(chunk);
          chunks.push(chunk);
        }
        images.push({ url, sha256: hash.digest('hex'), bytes: Buffer.concat(chunks) });
      }
    }),
  );
  if (level !== 'hash') {
    const file = path.join(store.dir, `pack-${packs++}`);
    const handle = await fs.promises.open(file, 'w');
    const size = images.reduce((sum, image) => sum + image.bytes.length, 0);
    const { bytesWritten } = await handle.writev(images.map((image) => image.bytes));
    if (bytesWritten !== size) throw new Error(`wrote ${bytesWritten} of ${size} bytes`);
    await handle.sync();
    await handle.close();
    const dir = await fs.promises.open(store.dir, 'r');
    await dir.sync();
    await dir.close();
    if (level === 'rows') {
      const insert = store.db.prepare('insert or ignore into images (sha256, url, pack, pack_offset, size) values (?, ?, ?, ?, ?)');
      store.db.transaction(() => {
        let offset = 0;
        for (const image of images) {
          insert.run(image.sha256, image.url, file, offset, image.bytes.length);
          offset += image.bytes.length;
        }
      })();
    }
  }
  const ms = performance.now() - started;
  await agent.close();
  if (images.length !== urls.length) throw new Error(`downloaded ${images.length} of ${urls.length} images`);
  return ms;
}
