// The dashboard page: server-rendered panels, then the script keeps them live. Styles and the
// script are files the app serves (no CDN, and the Content-Security-Policy allows only 'self').
import { type SafeHtml, html } from '../../../http/html.js';
import type { PanelFragments } from './panels.js';

export const ASSETS_PATH = '/dashboard/assets';

export interface PageOptions {
  panels: PanelFragments;
  shape: string;
  drivers: Record<string, string>;
  /** links to show; only those whose routes exist */
  links: { href: string; label: string }[];
  /** the harvest module's HTTP surface exists: the page's script reads it */
  harvest: boolean;
  /** sent by the page's script with every action (retry, cancel, pause): see csrf.ts */
  csrfToken: string;
}

const section = (name: string, title: string, body: SafeHtml, wide = false, control: SafeHtml = html``) =>
  html`<section class="panel${wide ? ' wide' : ''}" aria-labelledby="h-${name}"><h2 id="h-${name}">${title}</h2>${control}<div data-panel="${name}">${body}</div></section>`;

// Outside the panel's body, which the live stream redraws every second: the choice stays.
const statsRangeControl = html`<label class="range-select">range <select data-stats-range-select aria-label="range of the request figures">\
<option value="all" selected>all time (chart: 24 h)</option><option value="24h">last 24 hours</option><option value="7d">last 7 days</option><option value="30d">last 30 days</option></select></label>`;

export function renderPage(options: PageOptions): string {
  const drivers = Object.entries(options.drivers).map(([role, driver]) => html`<span class="chip"><span class="muted">${role}</span> ${driver}</span>`);
  const links = options.links.map((l) => html`<a href="${l.href}">${l.label}</a>`);
  const harvest = options.harvest
    ? html`<p class="muted">Loading…</p>`
    : html`<p class="unavailable"><strong>Not available</strong> — the harvest module is not part of this installation</p>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workyard dashboard</title>
<meta name="csrf-token" content="${options.csrfToken}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/dashboard.css">
<script src="${ASSETS_PATH}/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><h1>Workyard</h1><span class="chip shape">${options.shape}</span>${drivers}</div>
  <nav>${links}<span class="live" data-live="connecting" role="status">connecting…</span></nav>
</header>
<p class="action-status" data-action-status role="status" aria-live="polite" hidden></p>
<main class="board">
${section('queues', 'Queues', options.panels.queues, true)}
${section('tasks', 'Latest tasks', options.panels.tasks, true)}
${section('failed', 'Failed tasks', options.panels.failed, true)}
${section('stats', 'Requests by path', options.panels.stats, false, statsRangeControl)}
<div class="column">
${section('blobs', 'Blobs', options.panels.blobs)}
<section class="panel" aria-labelledby="h-harvest"><h2 id="h-harvest">Recent harvests</h2><div data-panel="harvest" data-harvest="${options.harvest ? 'on' : 'off'}">${harvest}</div></section>
</div>
</main>
</body>
</html>
`.value;
}

/** Shown to a browser without the key: a form that sends it as ?key= (which then sets a cookie). */
export function renderKeyForm(message: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workyard dashboard — key needed</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/dashboard.css">
</head>
<body>
<main class="key-form">
<h1>Workyard</h1>
<p>${message}</p>
<form method="get" action="/dashboard">
<label for="key">API key (WORKYARD_API_KEY)</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the dashboard</button>
</form>
</main>
</body>
</html>
`.value;
}
