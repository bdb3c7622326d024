// A task's progress as the dashboard shows it. Handlers report what they like (reportProgress):
// a number is a percentage; an object with a count done out of a total is a fraction (a traffic
// run reports { n, sent, ok, failed }: ok + failed of n answered); anything else is shown as text.
import type { JobProgress } from '../../../infra/queue/contract.js';

export type ProgressFigures =
  | { kind: 'fraction'; percent: number; label: string }
  | { kind: 'text'; text: string }
  | { kind: 'none' };

const TEXT_MAX = 40;

const numberAt = (p: Record<string, unknown>, key: string): number | undefined => {
  const value = p[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

function doneOf(p: Record<string, unknown>): number | undefined {
  for (const key of ['done', 'completed', 'current', 'processed']) {
    const value = numberAt(p, key);
    if (value !== undefined) return value;
  }
  const ok = numberAt(p, 'ok');
  const failed = numberAt(p, 'failed');
  if (ok !== undefined && failed !== undefined) return ok + failed;
  return numberAt(p, 'sent');
}

const clampPercent = (value: number) => Math.min(100, Math.max(0, value));
const roundPercent = (value: number) => (value < 10 && !Number.isInteger(value) ? value.toFixed(1) : Math.round(value).toString());
const count = (n: number) => n.toLocaleString('en-US');

export function progressFigures(progress: JobProgress): ProgressFigures {
  if (typeof progress === 'number') {
    if (!Number.isFinite(progress)) return { kind: 'none' };
    const percent = clampPercent(progress);
    return { kind: 'fraction', percent, label: `${roundPercent(percent)} %` };
  }
  if (progress === null || typeof progress !== 'object' || Object.keys(progress).length === 0) return { kind: 'none' };
  const total = numberAt(progress, 'total') ?? numberAt(progress, 'n');
  const done = doneOf(progress);
  if (total !== undefined && total > 0 && done !== undefined) {
    return { kind: 'fraction', percent: clampPercent((done / total) * 100), label: `${count(done)} / ${count(total)}` };
  }
  const text = Object.entries(progress)
    .map(([key, value]) => `${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(', ');
  return { kind: 'text', text: text.length > TEXT_MAX ? `${text.slice(0, TEXT_MAX - 1)}…` : text };
}
