// The request statistics as a horizontal bar chart, drawn on the server as SVG: one bar per path,
// its label on the left, its count at the end. Colours come from the page's stylesheet.
import type { PathCount } from '../panels/stats-panel.js';
import { type SafeHtml, html } from '../../../http/html.js';
import { formatCount } from './format.js';

export interface BarChartLayout {
  width: number;
  labelWidth: number;
  barHeight: number;
  gap: number;
  /** room after the longest bar for its count */
  countWidth: number;
}

const DEFAULT_LAYOUT: BarChartLayout = { width: 640, labelWidth: 230, barHeight: 20, gap: 6, countWidth: 70 };
// What fits the label column in the monospace font the stylesheet gives labels.
const MAX_LABEL_CHARS = 30;

const shorten = (text: string) => (text.length > MAX_LABEL_CHARS ? `${text.slice(0, MAX_LABEL_CHARS - 1)}…` : text);

export function renderBarChart(rows: PathCount[], layout: BarChartLayout = DEFAULT_LAYOUT): SafeHtml {
  const { width, labelWidth, barHeight, gap, countWidth } = layout;
  const height = Math.max(1, rows.length) * (barHeight + gap) + gap;
  const max = Math.max(1, ...rows.map((r) => r.count));
  const span = width - labelWidth - countWidth;
  const bars = rows.map((row, i) => {
    const y = gap + i * (barHeight + gap);
    // Every counted path gets a visible bar, however small its share.
    const length = Math.max(2, (row.count / max) * span);
    const middle = y + barHeight / 2;
    return html`<g class="bar" data-path="${row.path}" data-count="${row.count}"><title>${row.path}: ${formatCount(row.count)}</title>\
<text class="bar-label" x="${labelWidth - 8}" y="${middle}" text-anchor="end" dominant-baseline="central">${shorten(row.path)}</text>\
<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" rx="3"></rect>\
<text class="bar-count" x="${(labelWidth + length + 6).toFixed(1)}" y="${middle}" dominant-baseline="central">${formatCount(row.count)}</text></g>`;
  });
  return html`<svg class="bar-chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="requests per path, top ${rows.length}" \
xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}
