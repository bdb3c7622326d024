// Embedded shape, the process killed mid-write: `workyard start` (API and workers in one process,
// SQLite in its data directory) takes 5,000 sync feedback saves and 5,000 queued ones at once and
// is SIGKILLed part-way. After a restart on the same data directory, every save that had been
// acknowledged (201 with its id, 202 with its task id) is stored, and every queued one exactly once.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { recordFigures } from '../support/suite-figures.js';
import { type WorkyardProcess, startWorkyardProcess } from '../support/workyard-process.js';

const EACH = 5_000;
const CONCURRENCY = 48;

describe('embedded shape: SIGKILL during 5,000 sync and 5,000 queued feedback saves', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-fault-kill-'));
  const processes: WorkyardProcess[] = [];
  afterAll(async () => {
    for (const proc of processes) await proc.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged save, and stores every queued one exactly once', { timeout: 300_000 }, async ({ task }) => {
    const port = await freePort();
    const env = { WORKYARD_DATA_DIR: dataDir, WORKYARD_QUEUE_LEASE_MS: '2000', WORKYARD_SHUTDOWN_TIMEOUT_MS: '1000' };
    const first = await startWorkyardProcess('start', env, port);
    processes.push(first);

    const run = `kill-${randomBytes(4).toString('hex')}`;
    const syncAcked = new Map<string, string>(); // id → message
    const queuedAcked = new Map<string, string>(); // task id → message
    const pool = new Pool(first.baseUrl, { connections: CONCURRENCY });
    // Killed once about half the saves are acknowledged: some of each kind are then in flight.
    const killAt = Math.floor(2 * EACH * (0.35 + Math.random() * 0.3));
    let inFlightAtKill = -1;
    let inFlight = 0;
    let killed: Promise<unknown> | undefined;

    const save = async (i: number, kind: 'sync' | 'async') => {
      const message = `${run}-${kind}-${i}`;
      inFlight++;
      try {
        const res = await pool.request({
          method: 'POST',
          path: `/feedback/${kind}`,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ name: 'Fault test', email: 'fault@example.com', message, rating: 3 }),
        });
        const body = (await res.body.json()) as { id?: string; task_id?: string };
        if (kind === 'sync' && res.statusCode === 201 && body.id) syncAcked.set(body.id, message);
        if (kind === 'async' && res.statusCode === 202 && body.task_id) queuedAcked.set(body.task_id, message);
      } catch {
        // no answer: the process was killed with this request in flight, it was never acknowledged
      } finally {
        inFlight--;
      }
      if (!killed && syncAcked.size + queuedAcked.size >= killAt) {
        inFlightAtKill = inFlight;
        killed = first.kill('SIGKILL');
      }
    };

    const jobs = Array.from({ length: EACH * 2 }, (_, n) => () => save(n >> 1, n % 2 ? 'async' : 'sync'));
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let job = jobs.shift(); job && !killed; job = jobs.shift()) await job();
      }),
    );
    expect(killed, 'the process was killed before the saves were done').toBeDefined();
    expect(await killed).toBe('SIGKILL');
    await pool.destroy();
    expect(syncAcked.size).toBeGreaterThan(0);
    expect(queuedAcked.size).toBeGreaterThan(0);

    const second = await startWorkyardProcess('start', env, port);
    processes.push(second);
    const db = new SqliteDatabase(path.join(dataDir, 'workyard.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const countIds = (ids: string[]) => {
        let found = 0;
        const statement = db.prepare('select count(*) as n from feedback_entries where id in (select value from json_each(?))');
        for (let i = 0; i < ids.length; i += 500) found += (statement.get(JSON.stringify(ids.slice(i, i + 500))) as { n: number }).n;
        return found;
      };
      // The queued saves that were acknowledged are done by the restarted worker.
      const deadline = Date.now() + 120_000;
      while (countIds([...queuedAcked.keys()]) < queuedAcked.size && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));

      const syncFound = countIds([...syncAcked.keys()]);
      const queuedFound = countIds([...queuedAcked.keys()]);
      const duplicates = db.prepare("select message, count(*) as n from feedback_entries where message like ? group by message having count(*) > 1").all(`${run}-%`);
      const wrongMessage = [...syncAcked, ...queuedAcked].filter(([id, message]) => {
        const row = db.prepare('select message from feedback_entries where id = ?').get(id) as { message: string } | undefined;
        return row !== undefined && row.message !== message;
      });
      recordFigures(task, [
        {
          subject: 'embedded: SIGKILL during saves',
          faults: 1,
          inFlightAtKill,
          syncAcknowledged: syncAcked.size,
          syncLost: syncAcked.size - syncFound,
          queuedAcknowledged: queuedAcked.size,
          queuedLost: queuedAcked.size - queuedFound,
          duplicates: duplicates.length,
        },
      ]);
      expect(inFlightAtKill, 'saves were in flight when the process was killed').toBeGreaterThan(0);
      expect(syncFound, 'acknowledged sync saves present after restart').toBe(syncAcked.size);
      expect(queuedFound, 'acknowledged queued saves stored after restart').toBe(queuedAcked.size);
      expect(duplicates).toEqual([]);
      expect(wrongMessage).toEqual([]);
    } finally {
      db.close();
    }
  });
});
