// Each panel as an HTML fragment. The page is rendered from these, and the live stream sends the
// fragments that changed, so the page and its live updates can never disagree.
import { type SafeHtml, html } from '../../../http/html.js';
import type { JobRecord } from '../../../infra/queue/contract.js';
import type { BlobTotals } from '../panels/blobs-panel.js';
import type { Panel } from '../panels/panel.js';
import type { QueueRow } from '../panels/queue-panel.js';
import type { TopPaths } from '../panels/stats-panel.js';
import { renderTimeChart } from './time-chart.js';
import type { DashboardSummary } from '../summary.js';
import { ACTIONS_PATH } from '../actions.js';
import { renderBarChart } from './bar-chart.js';
import { formatBytes, formatCount, formatDuration } from './format.js';
import { progressFigures } from './progress.js';

export type PanelName = 'queues' | 'tasks' | 'failed' | 'stats' | 'blobs';
export type PanelFragments = Record<PanelName, SafeHtml>;

const notAvailable = (reason: string) => html`<p class="unavailable"><strong>Not available</strong> — ${reason}</p>`;

function orUnavailable<T>(panel: Panel<T>, render: (data: T) => SafeHtml): SafeHtml {
  return panel.available ? render(panel.data) : notAvailable(panel.reason);
}

function percent(share: number | null): string {
  if (share === null) return '—';
  const value = share * 100;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} %`;
}
const perMinute = (rate: number | null) => (rate === null ? '—' : rate >= 10 ? rate.toFixed(0) : rate.toFixed(1));

/**
 * A button the page's script posts (with the CSRF token) to one of the action routes. Its
 * accessible name says what it acts on ("retry compute.sum 1a2b3c4d"), as the visible label
 * alone would be the same on every row.
 */
const actionButton = (action: { path: string; label: string; subject: string; title: string; danger?: boolean }) =>
  html`<button type="button" class="action${action.danger ? ' danger' : ''}" data-action="${ACTIONS_PATH}${action.path}" \
aria-label="${action.label} ${action.subject}" title="${action.title}">${action.label}</button>`;
const taskButton = (t: JobRecord, action: 'retry' | 'cancel', title: string) =>
  actionButton({ path: `/tasks/${encodeURIComponent(t.id)}/${action}`, label: action, subject: `${t.name} ${t.id.slice(0, 8)}`, title, danger: action === 'cancel' });
const queueButton = (name: string, action: 'pause' | 'resume' | 'retry-failed', title: string) =>
  actionButton({ path: `/queues/${encodeURIComponent(name)}/${action}`, label: action.replace('-', ' '), subject: name, title });

function queueControls(r: QueueRow): SafeHtml {
  const pause = r.paused
    ? queueButton(r.name, 'resume', `start runs of ${r.name} again`)
    : queueButton(r.name, 'pause', `start no new run of ${r.name} on any worker (running ones finish)`);
  const retryFailed = r.failed ? queueButton(r.name, 'retry-failed', `queue every failed ${r.name} task again`) : '';
  return html`${pause}${retryFailed}`;
}

export function renderQueues(rows: QueueRow[]): SafeHtml {
  if (!rows.length) return html`<p class="empty">No jobs yet.</p>`;
  const body = rows.map(
    (r) =>
      html`<tr data-job="${r.name}"><th scope="row">${r.name}${r.paused ? html` <span class="chip paused" data-paused>paused</span>` : ''}</th>\
<td class="num" data-state="waiting">${formatCount(r.waiting)}</td>\
<td class="num" data-state="active">${formatCount(r.active)}</td>\
<td class="num" data-state="completed">${formatCount(r.completed)}</td>\
<td class="num${r.failed ? ' bad' : ''}" data-state="failed">${formatCount(r.failed)}</td>\
<td class="num">${percent(r.completionRate)}${rateBar(r.completionRate)}</td>\
<td class="num">${perMinute(r.completedPerMinute)}</td><td class="actions">${queueControls(r)}</td></tr>`,
  );
  return html`<table class="grid"><thead><tr><th scope="col">job</th><th scope="col" class="num">waiting</th><th scope="col" class="num">active</th>\
<th scope="col" class="num">completed</th><th scope="col" class="num">failed</th>\
<th scope="col" class="num" title="completed ÷ (completed + failed)">completion rate</th>\
<th scope="col" class="num" title="completions per minute over the last minute, measured while the dashboard is open">done / min</th>\
<th scope="col"><span class="visually-hidden">actions</span></th></tr></thead><tbody>${body}</tbody></table>`;
}

/** A small bar drawn with SVG attributes rather than style attributes, which a strict CSP would refuse. */
const meter = (percent: number, title = '') =>
  html`<svg class="meter" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true">${title ? html`<title>${title}</title>` : ''}\
<rect class="meter-track" width="100" height="6" rx="3"></rect><rect class="meter-fill" width="${percent.toFixed(1)}" height="6" rx="3"></rect></svg>`;

const rateBar = (share: number | null) => (share === null ? '' : meter(share * 100));

function progressOf(job: JobRecord): SafeHtml | string {
  const figures = progressFigures(job.progress);
  if (figures.kind === 'none') return '';
  if (figures.kind === 'text') return html`<span class="progress-text" title="${JSON.stringify(job.progress)}">${figures.text}</span>`;
  // A bare number at 0 is a task that has not reported yet; a completed one needs no bar at 100.
  if (typeof job.progress === 'number' && (job.state === 'completed' || job.progress <= 0)) return '';
  return html`<span class="progress">${meter(figures.percent, figures.label)}<span class="progress-label">${figures.label}</span></span>`;
}

function timingOf(job: JobRecord, now: number): string {
  if (job.finishedAt !== null) {
    const took = job.startedAt === null ? '' : ` · took ${formatDuration(job.finishedAt - job.startedAt)}`;
    return `ended ${formatDuration(now - job.finishedAt)} ago${took}`;
  }
  if (job.startedAt !== null) return `running for ${formatDuration(now - job.startedAt)}`;
  return `waiting for ${formatDuration(now - job.createdAt)}`;
}

export function renderTasks(tasks: JobRecord[], now: number): SafeHtml {
  if (!tasks.length) return html`<p class="empty">No tasks yet.</p>`;
  const body = tasks.map(
    (t) =>
      html`<tr data-task-id="${t.id}" data-status="${t.state}"><td>${t.name}</td>\
<td><a href="/tasks/${encodeURIComponent(t.id)}" title="${t.id}"><code>${t.id.slice(0, 8)}</code></a></td>\
<td><span class="status status-${t.state}">${t.state}</span>\
${t.error ? html`<div class="error-text" title="${t.error}">${t.error.slice(0, 120)}</div>` : ''}</td>\
<td>${progressOf(t)}</td><td class="muted">${timingOf(t, now)}</td><td class="actions">${taskControls(t)}</td></tr>`,
  );
  return html`<table class="grid"><thead><tr><th scope="col">kind</th><th scope="col">task</th><th scope="col">status</th>\
<th scope="col">progress</th><th scope="col">when</th><th scope="col"><span class="visually-hidden">actions</span></th></tr></thead><tbody>${body}</tbody></table>`;
}

function taskControls(t: JobRecord): SafeHtml | string {
  if (t.state === 'failed') return taskButton(t, 'retry', 'queue it again with fresh attempts');
  if (t.state === 'active') return taskButton(t, 'cancel', 'stop it wherever it runs: it ends cancelled');
  if (t.state === 'queued' || t.state === 'delayed') return taskButton(t, 'cancel', 'it will not run');
  return '';
}

export function renderFailed(tasks: JobRecord[], now: number): SafeHtml {
  if (!tasks.length) return html`<p class="empty">No failed tasks.</p>`;
  const body = tasks.map(
    (t) =>
      html`<tr data-failed-id="${t.id}"><td>${t.name}</td>\
<td><a href="/tasks/${encodeURIComponent(t.id)}" title="${t.id}"><code>${t.id.slice(0, 8)}</code></a></td>\
<td><div class="error-text" title="${t.stack ?? t.error ?? ''}">${(t.error ?? 'no error kept').slice(0, 160)}</div></td>\
<td class="num">${t.attempts}</td>\
<td class="muted">${t.finishedAt === null ? '' : `${formatDuration(now - t.finishedAt)} ago`}</td>\
<td class="actions">${taskButton(t, 'retry', 'queue it again with fresh attempts')}</td></tr>`,
  );
  return html`<table class="grid"><thead><tr><th scope="col">kind</th><th scope="col">task</th><th scope="col">error</th>\
<th scope="col" class="num" title="runs so far, retries from here included">runs</th><th scope="col">failed</th><th scope="col"><span class="visually-hidden">actions</span></th></tr></thead><tbody>${body}</tbody></table>`;
}

const RANGE_WORDS: Record<TopPaths['range'], { chart: string; paths: string }> = {
  all: { chart: 'last 24 hours', paths: 'since counting began' },
  '24h': { chart: 'last 24 hours', paths: 'in the last 24 hours' },
  '7d': { chart: 'last 7 days', paths: 'in the last 7 days' },
  '30d': { chart: 'last 30 days', paths: 'in the last 30 days' },
};

export function renderStats(stats: TopPaths): SafeHtml {
  const words = RANGE_WORDS[stats.range];
  if (!stats.paths.length) return html`<p class="empty" data-stats-range="${stats.range}">No requests counted ${stats.range === 'all' ? 'yet' : words.paths}.</p>`;
  return html`<p class="muted" data-stats-range="${stats.range}">Requests per ${stats.unit}, ${words.chart} (UTC):</p>${renderTimeChart(stats.hourly, stats.unit)}\
<p class="muted">${formatCount(stats.total)} requests to ${formatCount(stats.unique)} distinct paths ${words.paths}; the top ${stats.paths.length}:</p>\
${renderBarChart(stats.paths)}`;
}

export function renderBlobs(totals: BlobTotals): SafeHtml {
  const lowerBound = totals.exact ? '' : '≥ ';
  return html`<div class="figures">\
<div class="figure"><span class="figure-value" data-figure="blob-count">${lowerBound}${formatCount(totals.count)}</span><span class="figure-label">blobs</span></div>\
<div class="figure"><span class="figure-value" data-figure="blob-bytes">${lowerBound}${formatBytes(totals.bytes)}</span><span class="figure-label">in total</span></div>\
</div><p class="muted">stored on ${totals.driver === 's3' ? 'S3' : 'local disk'}${totals.exact ? '' : ' (counted from the first listing page)'}</p>`;
}

export function renderPanels(summary: DashboardSummary): PanelFragments {
  return {
    queues: orUnavailable(summary.queues, renderQueues),
    tasks: orUnavailable(summary.tasks, (tasks) => renderTasks(tasks, summary.at)),
    failed: orUnavailable(summary.failed, (tasks) => renderFailed(tasks, summary.at)),
    stats: orUnavailable(summary.stats, renderStats),
    blobs: orUnavailable(summary.blobs, renderBlobs),
  };
}
