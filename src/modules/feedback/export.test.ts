// The admin's export of saved feedback, on SQLite and PostgreSQL: CSV that a CSV parser reads back
// cell for cell (quotes, commas, line breaks, formula-like cells made inert), NDJSON, the filters,
// and 100,000 rows streamed in flat memory.
import { parse } from 'csv-parse/sync';
import { Parser } from 'csv-parse';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type FeedbackWorkyard, startFeedbackWorkyard } from '../../../test/support/feedback.js';
import { csvCell } from './export-routes.js';
import { type FeedbackRow, FeedbackStore } from './store.js';

const KEY = 'export-test-key';
const admin = { authorization: `Bearer ${KEY}` };
const base = Date.UTC(2026, 5, 1);

describe('CSV cells', () => {
  it('quotes what RFC 4180 needs quoted and makes formula-like cells inert', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvCell(' padded')).toBe('" padded"');
    for (const formula of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(csvCell(formula).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell(-1)).toBe('-1');
    expect(csvCell(null)).toBe('');
  });
});

for (const driver of (await driverMatrix()).filter((d) => d.queue === 'sql')) {
  describe.skipIf(!driver.available)(`feedback export on ${driver.dialect}`, () => {
    let wy: FeedbackWorkyard;
    const rows: FeedbackRow[] = [
      { id: 'a0000000-0000-4000-8000-000000000001', name: 'Ada, Countess', email: 'ada@example.com', message: 'Line one\nline "two"', rating: 5, via: 'sync', created_at: base },
      { id: 'a0000000-0000-4000-8000-000000000002', name: '=HYPERLINK("http://evil.example")', email: '', message: '+44 is a prefix', rating: null, via: 'queued', created_at: base + 1_000 },
      { id: 'a0000000-0000-4000-8000-000000000003', name: 'Bot', email: 'bot@example.com', message: 'buy now', rating: null, via: 'sync', created_at: base + 2_000, spam: 1 },
      { id: 'a0000000-0000-4000-8000-000000000004', name: 'Zoë', email: '', message: 'ünïcödé ✓', rating: 3, via: 'sync', created_at: base + 3_000 },
    ];
    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver, { env: { WORKYARD_API_KEY: KEY } });
      await new FeedbackStore(wy.workyard.ctx.database).insert(rows);
    });
    afterAll(() => wy?.close());

    const get = (url: string, headers: Record<string, string> = admin) => wy.app.inject({ url, headers });

    it('exports CSV that parses back to what was saved, oldest first, spam left out by default', async () => {
      const res = await get('/feedback/export.csv');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
      expect(res.headers['content-disposition']).toBe('attachment; filename="feedback.csv"');
      const records = parse(res.body, { columns: true }) as Record<string, string>[];
      expect(records.map((r) => r.id)).toEqual([rows[0].id, rows[1].id, rows[3].id]);
      expect(records[0]).toEqual({ id: rows[0].id, created_at: new Date(base).toISOString(), name: 'Ada, Countess', email: 'ada@example.com', rating: '5', message: 'Line one\nline "two"', via: 'sync', spam: 'false' });
      expect(records[1].name).toBe(`'=HYPERLINK("http://evil.example")`);
      expect(records[1].message).toBe("'+44 is a prefix");
      expect(records[1].rating).toBe('');
      expect(records[2].message).toBe('ünïcödé ✓');
      expect(res.body.startsWith('id,created_at,')).toBe(true);
      expect(res.body).toContain('\r\n');
    });

    it('filters by time and spam, adds a BOM on request, and exports NDJSON', async () => {
      const ids = async (query: string) => (parse((await get(`/feedback/export.csv?${query}`)).body, { columns: true, bom: true }) as { id: string }[]).map((r) => r.id);
      expect(await ids('spam=true')).toEqual([rows[2].id]);
      expect(await ids('spam=all')).toEqual(rows.map((r) => r.id));
      expect(await ids(`since=${new Date(base + 1_000).toISOString()}&until=${new Date(base + 3_000).toISOString()}&spam=all`)).toEqual([rows[1].id, rows[2].id]);
      const bom = await get('/feedback/export.csv?bom=true');
      expect(bom.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
      const ndjson = await get('/feedback/export.ndjson?spam=all');
      expect(ndjson.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      const lines = ndjson.body.trimEnd().split('\n').map((line) => JSON.parse(line));
      expect(lines).toHaveLength(4);
      expect(lines[2]).toEqual({ id: rows[2].id, name: 'Bot', email: 'bot@example.com', rating: null, message: 'buy now', via: 'sync', created_at: new Date(base + 2_000).toISOString(), spam: true });
    });

    it('is the admin\'s: 401 without the key; a bad filter is a 400 naming it', async () => {
      expect((await get('/feedback/export.csv', {})).statusCode).toBe(401);
      expect((await get('/feedback/export.ndjson', {})).statusCode).toBe(401);
      expect((await get('/feedback/export.csv?since=yesterday')).json().error.field).toBe('since');
      expect((await get('/feedback/export.csv?spam=perhaps')).json().error.field).toBe('spam');
      expect((await get(`/feedback/export.csv?since=${new Date(base + 5).toISOString()}&until=${new Date(base).toISOString()}`)).json().error.field).toBe('until');
    });
  });
}

describe('an export of 100,000 rows', () => {
  let wy: FeedbackWorkyard;
  const COUNT = 100_000;
  beforeAll(async () => {
    const sqlite = (await driverMatrix()).find((d) => d.name === 'sql-sqlite')!;
    wy = await startFeedbackWorkyard(sqlite, { env: { WORKYARD_API_KEY: KEY } });
    const store = new FeedbackStore(wy.workyard.ctx.database);
    for (let start = 0; start < COUNT; start += 5_000) {
      await store.insert(
        Array.from({ length: 5_000 }, (_, i): FeedbackRow => {
          const n = start + i;
          return { id: `b${String(n).padStart(7, '0')}-0000-4000-8000-000000000000`, name: `Person ${n}`, email: `p${n}@example.com`, message: `Message ${n}, with "quotes" and a comma`.padEnd(200, '.'), rating: (n % 5) + 1, via: 'sync', created_at: base + n };
        }),
      );
    }
  }, 120_000);
  afterAll(() => wy?.close());

  it('streams in flat memory, and every row parses', async () => {
    // the heap that stays after a collection, sampled as the export goes: what the server holds
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const retained = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const res = await fetch(`${wy.baseUrl}/feedback/export.csv`, { headers: admin });
    expect(res.status).toBe(200);
    const samples: number[] = [retained()];
    let nextSample = 2 * 1024 * 1024;
    let bytes = 0;
    let rows = 0;
    const parser = new Parser({ columns: true });
    parser.on('readable', () => {
      while (parser.read() !== null) rows++;
    });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    for await (const chunk of body) {
      bytes += chunk.length;
      parser.write(chunk);
      if (bytes >= nextSample) {
        samples.push(retained());
        nextSample += 2 * 1024 * 1024;
      }
    }
    parser.end();
    await new Promise((resolve) => parser.once('end', resolve));
    expect(rows).toBe(COUNT);
    // about 27 MB went through; the server (in this process) held a batch at a time, not the export
    expect(bytes).toBeGreaterThan(25 * 1024 * 1024);
    expect(samples.length).toBeGreaterThan(10);
    const growth = Math.max(...samples) - samples[0];
    expect(growth, `retained heap grew by ${(growth / 1048576).toFixed(1)} MiB over ${(bytes / 1048576).toFixed(1)} MiB exported`).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);
});
