// The frame every server-rendered page shares (home, feedback, compute tasks, error pages), and
// how pages are sent: with a Content-Security-Policy that allows no script at all and only this
// stylesheet (by hash), so that even a template mistake could not run injected script.
// No external resources: the pages work offline.
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { SafeHtml, html } from './html.js';

const STYLE = `
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:64rem;padding:1rem 1.5rem;color:#1b1b1b;background:#fafafa}
a{color:#0b57d0}
.hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}
h1{margin:.5rem 0 1rem}
nav.top{margin-bottom:1rem}
.notice{padding:.75rem 1rem;border-left:4px solid #1e7e34;background:#e9f6ec;margin:1rem 0}
.alert{padding:.75rem 1rem;border-left:4px solid #b3261e;background:#fbeaea;margin:1rem 0}
.forms{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1.5rem}
form{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem}
form h2{margin-top:0;font-size:1.2rem}
.hint{color:#555;margin-top:-.5rem}
.field{margin-bottom:.75rem}
.field label{display:block;font-weight:600}
.field input,.field select,.field textarea{width:100%;padding:.4rem;font:inherit;border:1px solid #888;border-radius:4px}
.field textarea{min-height:6rem}
.has-error input,.has-error select,.has-error textarea{border:2px solid #b3261e}
.error{color:#b3261e;margin:.25rem 0 0;font-weight:600}
button{font:inherit;padding:.5rem 1rem;border:0;border-radius:4px;background:#0b57d0;color:#fff;cursor:pointer}
ol.entries{list-style:none;padding:0}
ol.entries li{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.75rem 1rem;margin-bottom:.75rem}
.entry-head{display:flex;flex-wrap:wrap;gap:.75rem;align-items:baseline}
.rating{color:#b8860b}
.rating.none{color:#555}
.name.anonymous{font-weight:400;font-style:italic;color:#555}
.meta{color:#555;font-size:.9rem}
.message{white-space:pre-wrap;overflow-wrap:anywhere;margin:.5rem 0 0}
.pager{display:flex;gap:1rem;align-items:center}
ul.links li{margin-bottom:.5rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}
td.error,.state-failed .state{color:#b3261e}
td.result{font-variant-numeric:tabular-nums}
`;

const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

// A constant of this file, not user text: it must reach the page byte for byte for its hash in the
// CSP to match, so it is not passed through escaping.
const STYLE_ELEMENT = new SafeHtml(`<style>${STYLE}</style>`);

export function layout(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Workyard</title>
${STYLE_ELEMENT}
</head>
<body>
<nav class="top"><a href="/">Workyard</a> · <a href="/feedback">Feedback</a> · <a href="/docs">API docs</a></nav>
${body}
</body>
</html>
`;
}


export function sendPage(reply: FastifyReply, status: number, title: string, body: SafeHtml) {
  return reply
    .status(status)
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    // pages carry a CSRF token and the latest entries: never from a cache
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(layout(title, body).value);
}
