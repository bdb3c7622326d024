// Embedded shape: counts live in the SQLite file, written in batches and on a graceful shutdown,
// so a restart finds every request counted, those of the last moments before it included.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countOf, readStats, startStatsWorkyard } from '../../../test/support/stats.js';

describe('stats across a restart (embedded)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-stats-restart-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every count, including increments still buffered at shutdown', async () => {
    const first = await startStatsWorkyard({ WORKYARD_DATA_DIR: dataDir });
    for (let i = 0; i < 30; i++) await fetch(`${first.baseUrl}/api/kept/${i % 3}/?i=${i}`);
    await fetch(`${first.baseUrl}/api/last/`);
    // closed at once: the last increments are still in memory and must be written by the shutdown
    await first.close();

    const second = await startStatsWorkyard({ WORKYARD_DATA_DIR: dataDir });
    try {
      const stats = await readStats(second);
      expect([0, 1, 2].map((i) => countOf(stats, `/api/kept/${i}/`))).toEqual([10, 10, 10]);
      expect(countOf(stats, '/api/last/')).toBe(1);
      // 31 requests before the restart, and this read
      expect(stats.total_requests).toBe(32);
      expect(stats.unique_paths).toBe(5);
      // the buckets were written with the counts: minute, hour and day views agree with them, none twice
      for (const interval of ['minute', 'hour', 'day']) {
        const series = (await (await fetch(`${second.baseUrl}/stats/timeseries?path=/api/kept/0/&from=-2d&interval=${interval}`)).json()) as { points: { count: number }[] };
        expect(series.points.reduce((sum, p) => sum + p.count, 0), interval).toBe(10);
      }
      const ranged = await readStats(second, 'from=-1h&limit=100');
      expect(countOf(ranged, '/api/last/')).toBe(1);
      expect(ranged.total_requests).toBe(32 + 3 + 1);
    } finally {
      await second.close();
    }
  });
});
