import { describe, expect, it } from 'vitest';
import { renderBarChart } from './bar-chart.js';

const bars = (svg: string) => [...svg.matchAll(/<g class="bar" data-path="([^"]*)" data-count="(\d+)">.*?<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)];

describe('the requests-by-path bar chart', () => {
  it('draws one bar per path, longest for the highest count', () => {
    const svg = renderBarChart([
      { path: '/api/a', count: 40 },
      { path: '/api/b', count: 20 },
      { path: '/api/c', count: 1 },
    ]).value;
    const found = bars(svg);
    expect(found.map((m) => m[1])).toEqual(['/api/a', '/api/b', '/api/c']);
    const widths = found.map((m) => Number(m[3]));
    expect(widths[0]).toBeCloseTo(widths[1] * 2, 0);
    // A tiny share still shows as a bar.
    expect(widths[2]).toBeGreaterThanOrEqual(2);
  });

  it('escapes paths, which come straight from requests', () => {
    const svg = renderBarChart([{ path: '/x"><script>alert(1)</script>', count: 3 }]).value;
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('data-path="/x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('shortens long labels but keeps the whole path in the tooltip', () => {
    const long = `/api/${'segment/'.repeat(20)}end`;
    const svg = renderBarChart([{ path: long, count: 1 }]).value;
    expect(svg).toContain(`<title>${long}: 1</title>`);
    expect(svg).toMatch(/>\/api\/segment\/[^<]*…<\/text>/);
  });

  it('grows with the number of bars', () => {
    const height = (n: number) => Number(/viewBox="0 0 \d+ (\d+)"/.exec(renderBarChart(Array.from({ length: n }, (_, i) => ({ path: `/p${i}`, count: i + 1 }))).value)![1]);
    expect(height(20)).toBeGreaterThan(height(2) * 5);
  });
});
