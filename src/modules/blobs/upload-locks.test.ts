// The upload lock shared by API nodes through SQL (SQLite and PostgreSQL): two lockers on one
// database stand for two nodes.
import { ERRORS } from '@tus/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqlDialects } from '../../../test/support/sql-dialects.js';
import type { Database } from '../../infra/db/database.js';
import { migrateToLatest } from '../../infra/db/migrations.js';
import { SqlUploadLocker } from './upload-locks.js';
import { uploadMigrations } from './upload-migrations.js';

const never = new AbortController().signal;
const timing = { ttlMs: 400, renewMs: 50, pollMs: 20 };

for (const dialect of await sqlDialects()) {
  describe.skipIf(!dialect.available)(`upload locks on ${dialect.name}`, () => {
    let database: Database;
    let drop: () => Promise<void>;
    beforeEach(async () => {
      ({ database, drop } = await dialect.open());
      await migrateToLatest(database, [uploadMigrations]);
    });
    afterEach(async () => {
      await database.close();
      await drop();
    });

    it('lets one node hold an upload; a request at another node asks it to let go, then takes it', async () => {
      const nodeA = new SqlUploadLocker(database, timing);
      const nodeB = new SqlUploadLocker(database, timing);
      const events: string[] = [];
      const held = nodeA.newLock('upload-1');
      await held.lock(never, async () => {
        events.push('A asked to release');
        await held.unlock();
      });
      const other = nodeA.newLock('upload-2');
      await other.lock(never, () => undefined); // another upload is not in the way
      const waiting = nodeB.newLock('upload-1');
      await waiting.lock(never, () => undefined);
      events.push('B holds');
      expect(events).toEqual(['A asked to release', 'B holds']);
      await waiting.unlock();
      await other.unlock();
    });

    it('gives up with the tus lock timeout when the holder does not let go before the request stops', async () => {
      const holder = new SqlUploadLocker(database, timing).newLock('upload-1');
      await holder.lock(never, () => undefined);
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 200);
      await expect(new SqlUploadLocker(database, timing).newLock('upload-1').lock(stop.signal, () => undefined)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
      await holder.unlock();
    });

    it('frees the lock of a node that stopped renewing it (died) once its time is up', async () => {
      const dead = new SqlUploadLocker(database, { ...timing, renewMs: 60_000 }).newLock('upload-1');
      await dead.lock(never, () => undefined);
      const started = Date.now();
      const next = new SqlUploadLocker(database, timing).newLock('upload-1');
      await next.lock(never, () => undefined);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      await next.unlock();
      // The dead node's late release does not free a lock that is no longer its own.
      await dead.unlock();
    });
  });
}
