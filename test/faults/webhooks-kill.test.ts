// The outbox under SIGKILL: `workyard start` (embedded, SQLite) with a webhook registered takes
// 1,000 sync and 1,000 queued feedback saves at once and is killed part-way. After a restart on the
// same data directory, every saved row has exactly one feedback.saved event (none lost with a
// committed row, none invented for a row that was not), and the receiver gets each at least once.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { recordFigures } from '../support/suite-figures.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';
import { type WorkyardProcess, startWorkyardProcess } from '../support/workyard-process.js';

const EACH = 1_000;
const CONCURRENCY = 32;

describe('embedded shape: SIGKILL during 2,000 feedback saves with a webhook registered', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-webhooks-kill-'));
  const processes: WorkyardProcess[] = [];
  let receiver: WebhookReceiver | undefined;
  afterAll(async () => {
    for (const proc of processes) await proc.kill();
    await receiver?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('records exactly one event per saved row, and the receiver gets every one', { timeout: 300_000 }, async ({ task }) => {
    receiver = await startWebhookReceiver();
    const port = await freePort();
    const env = { WORKYARD_DATA_DIR: dataDir, WORKYARD_QUEUE_LEASE_MS: '2000', WORKYARD_SHUTDOWN_TIMEOUT_MS: '1000', WORKYARD_WEBHOOKS_ALLOW_PRIVATE: 'true' };
    const first = await startWorkyardProcess('start', env, port);
    processes.push(first);
    const registered = await fetch(`${first.baseUrl}/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url('/hook'), events: ['feedback.saved'], secret: receiver.secret }),
    });
    expect(registered.status).toBe(201);

    const run = `whkill-${randomBytes(4).toString('hex')}`;
    let acknowledged = 0;
    const pool = new Pool(first.baseUrl, { connections: CONCURRENCY });
    const killAt = Math.floor(2 * EACH * (0.35 + Math.random() * 0.3));
    let inFlight = 0;
    let inFlightAtKill = -1;
    let killed: Promise<unknown> | undefined;
    const save = async (i: number, kind: 'sync' | 'async') => {
      inFlight++;
      try {
        const res = await pool.request({
          method: 'POST',
          path: `/feedback/${kind}`,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ name: 'Kill test', email: 'kill@example.com', message: `${run}-${kind}-${i}`, rating: 2 }),
        });
        await res.body.dump();
        if (res.statusCode === 201 || res.statusCode === 202) acknowledged++;
      } catch {
        // killed with this request in flight
      } finally {
        inFlight--;
      }
      if (!killed && acknowledged >= killAt) {
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
    expect(await killed).toBe('SIGKILL');
    await pool.destroy();
    const receivedBeforeRestart = receiver.ofType('feedback.saved').length;

    const second = await startWorkyardProcess('start', env, port);
    processes.push(second);
    const db = new SqliteDatabase(path.join(dataDir, 'workyard.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const savedIds = () => (db.prepare('select id from feedback_entries where message like ?').all(`${run}-%`) as { id: string }[]).map((row) => row.id);
      const received = () => new Set(receiver!.ofType('feedback.saved').map((m) => m.data.id as string));
      // Queued saves acknowledged before the kill are finished by the restarted worker, and every
      // saved row's event is delivered; then nothing more is in flight.
      const deadline = Date.now() + 150_000;
      let settledAt = 0;
      for (let last = -1; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 500))) {
        const ids = savedIds();
        const got = received();
        if (ids.length === last && ids.every((id) => got.has(id))) {
          if (!settledAt) settledAt = Date.now();
          if (Date.now() - settledAt > 2_000) break;
        } else settledAt = 0;
        last = ids.length;
      }
      const ids = savedIds();
      const events = db.prepare("select json_extract(data, '$.id') as id, count(*) as n from events_outbox where type = 'feedback.saved' and json_extract(data, '$.message') like ? group by 1").all(`${run}-%`) as { id: string; n: number }[];
      const eventsById = new Map(events.map((row) => [row.id, row.n]));
      const got = received();
      const missingEvents = ids.filter((id) => eventsById.get(id) !== 1);
      const inventedEvents = events.filter((row) => !ids.includes(row.id));
      const notReceived = ids.filter((id) => !got.has(id));
      recordFigures(task, [
        {
          subject: 'webhooks: SIGKILL during feedback saves',
          faults: 1,
          inFlightAtKill,
          acknowledged,
          savedRows: ids.length,
          receivedBeforeRestart,
          received: got.size,
          redeliveries: receiver.duplicates(),
        },
      ]);
      expect(inFlightAtKill, 'saves were in flight when the process was killed').toBeGreaterThan(0);
      expect(ids.length).toBeGreaterThanOrEqual(acknowledged);
      expect(missingEvents, 'saved rows without exactly one event').toEqual([]);
      expect(inventedEvents, 'events of rows that were not saved').toEqual([]);
      expect(notReceived, 'saved rows whose event the receiver never got').toEqual([]);
      expect(receiver.badSignatures).toEqual([]);
    } finally {
      db.close();
    }
  });
});
