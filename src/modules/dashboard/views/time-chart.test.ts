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
});
