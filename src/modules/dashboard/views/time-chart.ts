// Requests per hour as an SVG column chart, drawn on the server like the bar chart: one column per
// hour (zero-filled, so a quiet hour shows as a gap), the peak labelled, hours marked every six.
import { type SafeHtml, html } from '../../../http/html.js';
import { formatCount } from './format.js';

const WIDTH = 640;
const HEIGHT = 120;
const AXIS = 18;

export function renderTimeChart(points: { start: number; count: number }[]): SafeHtml {
  if (!points.length) return html``;
  const max = Math.max(1, ...points.map((p) => p.count));
  const step = WIDTH / points.length;
  const columns = points.map((point, i) => {
    const height = point.count === 0 ? 0 : Math.max(1, (point.count / max) * (HEIGHT - AXIS - 4));
    const hour = new Date(point.start).toISOString().slice(11, 16);
    const tick = new Date(point.start).getUTCHours() % 6 === 0 ? html`<text class="bar-count" x="${(i * step).toFixed(1)}" y="${HEIGHT - 4}">${hour}</text>` : html``;
    return html`<g class="column" data-start="${new Date(point.start).toISOString()}" data-count="${point.count}"><title>${hour} UTC: ${formatCount(point.count)}</title>\
<rect x="${(i * step + 1).toFixed(1)}" y="${(HEIGHT - AXIS - height).toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${height.toFixed(1)}" rx="1"></rect>${tick}</g>`;
  });
  return html`<svg class="bar-chart time-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" \
aria-label="requests per hour, last 24 hours, peak ${formatCount(max)}" xmlns="http://www.w3.org/2000/svg">${columns}</svg>`;
}
