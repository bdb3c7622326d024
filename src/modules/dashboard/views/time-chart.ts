// Requests per hour (or day) as an SVG column chart, drawn on the server like the bar chart: one
// column per bucket (zero-filled, so a quiet hour shows as a gap), the peak labelled; over a day
// the hours are marked every six, over longer spans the dates, at midnight (UTC).
import { type SafeHtml, html } from '../../../http/html.js';
import { formatCount } from './format.js';

const WIDTH = 640;
const HEIGHT = 120;
const AXIS = 18;

export function renderTimeChart(points: { start: number; count: number }[], unit: 'hour' | 'day' = 'hour'): SafeHtml {
  if (!points.length) return html``;
  const max = Math.max(1, ...points.map((p) => p.count));
  const step = WIDTH / points.length;
  const days = Math.round((points.length * (unit === 'hour' ? 1 : 24)) / 24);
  // a label every six hours over a day; over longer spans one per day, thinned to at most about eight
  const dayLabelEvery = Math.max(1, Math.ceil(days / 8));
  const columns = points.map((point, i) => {
    const at = new Date(point.start);
    const height = point.count === 0 ? 0 : Math.max(1, (point.count / max) * (HEIGHT - AXIS - 4));
    const label = unit === 'hour' ? at.toISOString().slice(11, 16) : at.toISOString().slice(5, 10);
    const marked = days <= 1 ? at.getUTCHours() % 6 === 0 : at.getUTCHours() === 0 && Math.floor(point.start / 86_400_000) % dayLabelEvery === 0;
    const text = days <= 1 ? label : at.toISOString().slice(5, 10);
    const tick = marked ? html`<text class="bar-count" x="${(i * step).toFixed(1)}" y="${HEIGHT - 4}">${text}</text>` : html``;
    const when = unit === 'hour' ? `${at.toISOString().slice(0, 10)} ${label}` : label;
    return html`<g class="column" data-start="${at.toISOString()}" data-count="${point.count}"><title>${days <= 1 ? label : when} UTC: ${formatCount(point.count)}</title>\
<rect x="${(i * step + 1).toFixed(1)}" y="${(HEIGHT - AXIS - height).toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${height.toFixed(1)}" rx="1"></rect>${tick}</g>`;
  });
  const span = days <= 1 ? 'last 24 hours' : `last ${days} days`;
  return html`<svg class="bar-chart time-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" \
aria-label="requests per ${unit}, ${span}, peak ${formatCount(max)}" xmlns="http://www.w3.org/2000/svg">${columns}</svg>`;
}
