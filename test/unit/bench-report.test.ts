import { describe, expect, it } from 'vitest';
import { type BenchSection, renderMarkdown } from '../../bench/lib/report.js';

const section = (module: string, extra: Partial<BenchSection> = {}): BenchSection => ({
  module,
  command: `npm run bench:${module}`,
  date: '2026-01-02T03:04:05.000Z',
  cpu: 'Test CPU × 2',
  rows: [
    { figure: 'requests', value: 9000, unit: 'req/s', ceiling: { name: 'bare Fastify', value: 10000 }, ratio: 0.9, goal: '≥ 0.8 × ceiling', met: true },
    { figure: 'p99 | tail', value: 3.5, unit: 'ms', goal: '< 2 ms', met: false },
  ],
  ...extra,
});

describe('the benchmark report (bench/RESULTS.md)', () => {
  it('shows each figure with its ceiling from the same run, ratio, goal and whether it was met, with the CPU and date', () => {
    const md = renderMarkdown({ stats: section('stats') });
    expect(md).toContain('| figure | value | ceiling (same run) | ratio | goal | met |');
    expect(md).toContain('| requests | 9000 req/s | 10000 req/s (bare Fastify) | 0.90 | ≥ 0.8 × ceiling | yes |');
    expect(md).toContain('| p99 \\| tail | 3.50 ms |  |  | < 2 ms | **no** |');
    expect(md).toContain('2026-01-02 03:04 UTC on Test CPU × 2');
    expect(md).toContain('| [stats](#stats) | 2026-01-02 03:04 UTC | Test CPU × 2 | 2 | 1 of 2 |');
  });

  it('lists every module in run order, saying which are not measured yet', () => {
    const md = renderMarkdown({ harvest: section('harvest'), queue: section('queue') });
    const order = ['## queue', '## feedback', '## compute', '## stats', '## blobs', '## harvest'].map((h) => md.indexOf(h));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(md).toContain('| feedback | not yet | | | |');
    expect(md).toContain('Not measured yet: `npm run bench:feedback`');
  });

  it('flags quick runs and figures that a failed run did not renew', () => {
    const md = renderMarkdown({
      queue: section('queue', { quick: true }),
      blobs: section('blobs', { stale: { date: '2026-02-01T00:00:00.000Z', reason: 'exit code 1' } }),
    });
    expect(md).toContain('**quick run** (shortened: indicative figures)');
    expect(md).toContain('> **Not re-measured:** the run of 2026-02-01 00:00 UTC failed (exit code 1); the figures below are from 2026-01-02 03:04 UTC.');
    expect(md).toContain('| [blobs](#blobs) | 2026-01-02 03:04 UTC (last run failed 2026-02-01 00:00 UTC) |');
  });
});
