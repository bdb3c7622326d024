import { describe, expect, it } from 'vitest';
import { renderTimeChart } from './time-chart.js';

describe('time chart', () => {
  it('draws one column per hour, zero-filled hours flat, the peak in the label', () => {
    const start = Date.parse('2026-12-05T00:00:00Z');
    const points = Array.from({ length: 24 }, (_, i) => ({ start: start + i * 3_600_000, count: i === 5 ? 40 : i % 2 }));
    const svg = renderTimeChart(points).toString();
    expect(svg.match(/<g class="column"/g)).toHaveLength(24);
    expect(svg).toContain('aria-label="requests per hour, last 24 hours, peak 40"');
    expect(svg).toContain('data-start="2026-12-05T05:00:00.000Z" data-count="40"');
    expect(svg).toMatch(/data-count="0"><title>00:00 UTC: 0<\/title><rect [^>]*height="0.0"/);
    expect(svg.match(/>(00|06|12|18):00</g)).toHaveLength(4);
  });

  it('marks dates at midnight over a week of hours, and over a month of days, thinned', () => {
    const start = Date.parse('2026-11-28T00:00:00Z');
    const week = renderTimeChart(Array.from({ length: 168 }, (_, i) => ({ start: start + i * 3_600_000, count: 1 })), 'hour').toString();
    expect(week).toContain('aria-label="requests per hour, last 7 days, peak 1"');
    expect(week.match(/>\d\d-\d\d</g)).toEqual(['>11-28<', '>11-29<', '>11-30<', '>12-01<', '>12-02<', '>12-03<', '>12-04<']);
    expect(week).toContain('<title>2026-11-28 05:00 UTC: 1</title>');
    const month = renderTimeChart(Array.from({ length: 30 }, (_, i) => ({ start: start + i * 86_400_000, count: i })), 'day').toString();
    expect(month.match(/<g class="column"/g)).toHaveLength(30);
    expect(month).toContain('aria-label="requests per day, last 30 days, peak 29"');
    // one date in four: at most about eight labels
    expect(month.match(/>\d\d-\d\d</g)!.length).toBeLessThanOrEqual(8);
  });
});
