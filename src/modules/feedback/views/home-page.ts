// GET /: an index of every part of Workyard. Links to parts other modules serve are listed
// whether or not those modules are present in this build; the dashboard comes later.
import { type SafeHtml, html } from '../../../http/html.js';

const PARTS: { href: string; title: string; what: string }[] = [
  { href: '/feedback', title: 'Feedback', what: 'two web forms: one saved in the request, one queued and saved by a worker' },
  { href: '/dashboard', title: 'Dashboard', what: 'queues, workers and jobs at a glance' },
  { href: '/docs', title: 'API docs', what: 'every route with its schema (Swagger UI); the document itself is /openapi.json' },
  { href: '/stats/', title: 'Request stats', what: 'requests counted by URL path' },
  { href: '/blobs', title: 'Blobs', what: 'a key → bytes store' },
  { href: '/images_tasks', title: 'Image harvest tasks', what: 'fetch a page and collect its images' },
  { href: '/text_tasks', title: 'Text harvest tasks', what: 'fetch a page and collect its text' },
  { href: '/async/tasks', title: 'Compute tasks', what: 'the newest sum tasks: state, result or error, each with its JSON' },
  { href: '/metrics', title: 'Metrics', what: 'Prometheus metrics' },
  { href: '/readyz', title: 'Readiness', what: 'each dependency, up or down, with latency' },
];

export function homePage(): SafeHtml {
  return html`<h1>Workyard</h1>
<p>Background work behind a web API. Every part:</p>
<ul class="links">
${PARTS.map((part) => html`<li><a href="${part.href}">${part.title}</a> — ${part.what}</li>\n`)}
</ul>`;
}
