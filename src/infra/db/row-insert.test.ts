// The multi-row insert kept as SQL text per row count, on both dialects: every value lands in its
// column and row, the suffix applies, and batches past the cached sizes build their own text.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { sqlDialects } from '../../../test/support/sql-dialects.js';
import { RowInsert } from './row-insert.js';

interface Row {
  id: string;
  label: string | null;
  n: number;
}

for (const dialect of await sqlDialects()) {
  describe.skipIf(!dialect.available)(`RowInsert on ${dialect.name}`, () => {
    it('inserts every row and value, skips conflicts through its suffix, at any batch size', async () => {
      const { database, drop } = await dialect.open();
      try {
        await sql`create table row_insert_test ("id" text primary key, "label" text, "n" integer not null)`.execute(database.db);
        const insert = new RowInsert<Row>(database.dialect, 'row_insert_test', ['id', 'label', 'n'], 'on conflict ("id") do nothing returning "id"');
        const make = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ id: `r${from + i}`, label: (from + i) % 3 ? `l${from + i}` : null, n: from + i }));
        expect(await insert.execute(database.db, make(0, 1))).toEqual([{ id: 'r0' }]);
        expect((await insert.execute<{ id: string }>(database.db, make(1, 2))).map((row) => row.id).sort()).toEqual(['r1', 'r2']);
        // 300 rows: more than the texts kept, the same text built again on the second call
        for (const from of [3, 303]) expect(await insert.execute(database.db, make(from, 300))).toHaveLength(300);
        // r0 … r2 again beside new ones: only the new come back
        expect((await insert.execute<{ id: string }>(database.db, make(0, 2).concat(make(603, 1)))).map((row) => row.id)).toEqual(['r603']);
        const stored = (await sql<Row>`select "id", "label", "n" from row_insert_test order by "n"`.execute(database.db)).rows;
        expect(stored.map((row) => ({ ...row, n: Number(row.n) }))).toEqual(make(0, 604));
      } finally {
        await database.close();
        await drop();
      }
    });
  });
}
