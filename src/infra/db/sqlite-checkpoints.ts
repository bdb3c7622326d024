// The embedded database's WAL checkpoints, on a thread of their own.
//
// SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages: it
// copies those pages into the database file and syncs both, on the thread that committed, which
// for better-sqlite3 is the process's event loop. A stats roll-up's fold of a busy hour committed
// in 140 ms, 80 of them the checkpoint (bench:stats-rollup), and every request waited. Here the
// committing connection never checkpoints; a second connection on a worker thread runs passive
// checkpoints (they wait for no reader or writer) while the event loop goes on. The thread starts
// the first time the WAL grows past a few megabytes, so an idle process carries no second isolate.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** SQLite's own threshold: 1,000 pages of 4 KiB */
const START_AT_WAL_BYTES = 4 * 1024 * 1024;
const WATCH_EVERY_MS = 1_000;
const CHECKPOINT_EVERY_MS = 100;
const AUTOMATIC_CHECKPOINT_PAGES = 1_000;

export interface CheckpointOptions {
  /** WAL size at which the thread starts */
  startAtWalBytes?: number;
  watchEveryMs?: number;
  checkpointEveryMs?: number;
  /** the better-sqlite3 module the thread loads (tests name one that is not there) */
  driver?: string;
}

export interface CheckpointThread {
  /** true once the thread runs the checkpoints */
  readonly running: boolean;
  /** Ends the thread after closing its connection; the caller's connection, closed last, then removes the WAL. */
  close(): Promise<void>;
}

// CommonJS run by the thread: it opens the file and checkpoints what the WAL holds until told to stop.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 0 });
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const checkpoint = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

/**
 * Turns off `raw`'s automatic checkpoints and has a thread checkpoint `file` from the time its WAL
 * passes `startAtWalBytes`. Should the thread fail, `raw` checkpoints as SQLite does by default again.
 */
export function checkpointOffThread(raw: BetterSqlite3.Database, file: string, options: CheckpointOptions = {}): CheckpointThread {
  const driver = options.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
  const startAt = options.startAtWalBytes ?? START_AT_WAL_BYTES;
  let worker: Worker | undefined;
  let exited: Promise<void> | undefined;
  let running = false;
  let closed = false;

  const fallBack = () => {
    running = false;
    if (!closed && raw.open) raw.pragma(`wal_autocheckpoint = ${AUTOMATIC_CHECKPOINT_PAGES}`);
  };
  const start = () => {
    clearInterval(watch);
    worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { driver, file, everyMs: options.checkpointEveryMs ?? CHECKPOINT_EVERY_MS } });
    // the thread keeps no process alive that would otherwise end
    worker.unref();
    worker.once('message', () => (running = true));
    worker.once('error', fallBack);
    exited = new Promise((resolve) => worker!.once('exit', () => resolve()));
    void exited.then(fallBack);
  };
  const watch = setInterval(() => {
    fs.stat(`${file}-wal`, (error, stats) => {
      if (!error && !worker && !closed && stats.size >= startAt) start();
    });
  }, options.watchEveryMs ?? WATCH_EVERY_MS);
  watch.unref();
  raw.pragma('wal_autocheckpoint = 0');

  return {
    get running() {
      return running;
    },
    async close() {
      closed = true;
      clearInterval(watch);
      if (!worker) return;
      worker.postMessage('close');
      await exited;
    },
  };
}
