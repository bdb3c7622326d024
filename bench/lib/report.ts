// Every benchmark records its figures here: bench/results.json keeps each module's latest run,
// and bench/RESULTS.md is rendered from it (figure, value, ceiling measured in the same run,
// ratio, goal, met or not), with the command that produced it, the CPU and the date.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  figure: string;
  value: number;
  unit: string;
  /** the ceiling measured in the same run (bare Fastify route, raw BullMQ, plain undici …) */
  ceiling?: { name: string; value: number };
  /** value / ceiling (or as the goal defines it) */
  ratio?: number;
  /** e.g. "≥ 0.9 × ceiling" or "< 2 ms" */
  goal?: string;
  met?: boolean;
}

export interface BenchSection {
  module: string;
  command: string;
  date: string;
  cpu: string;
  notes?: string[];
  rows: BenchRow[];
  /** measured with --quick (shortened runs): indicative figures only */
  quick?: boolean;
  /** set when a later run of this benchmark failed: why, and when; the figures are the older ones */
  stale?: { date: string; reason: string };
}

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jsonFile = path.join(benchDir, 'results.json');
const mdFile = path.join(benchDir, 'RESULTS.md');

/** The modules with a benchmark, in the order `npm run bench` runs them and the report lists them. */
export const BENCH_MODULES = ['queue', 'queue-features', 'queue-group-claims', 'queue-tracing', 'feedback', 'compute', 'stats', 'stats-windows', 'stats-rollup', 'blobs', 'harvest', 'security', 'webhooks', 'peer'] as const;

/** `npm run bench -- --quick` (or WORKYARD_BENCH_QUICK=1): benchmarks shorten their runs. */
export function quickMode(): boolean {
  return process.argv.includes('--quick') || process.env.WORKYARD_BENCH_QUICK === '1';
}

export function cpuName(): string {
  return `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} × ${os.cpus().length}`;
}

export function recordSection(section: Omit<BenchSection, 'date' | 'cpu'>): void {
  const all = readResults();
  const { stale: _stale, ...fresh } = section as BenchSection;
  all[section.module] = { ...fresh, ...(quickMode() ? { quick: true } : {}), date: new Date().toISOString(), cpu: cpuName() };
  writeResults(all);
  printSection(all[section.module]);
}

/** A benchmark failed: its old figures stay, marked as not re-measured, so no one mistakes them for new ones. */
export function markStale(module: string, reason: string): void {
  const all = readResults();
  if (!all[module]) return;
  all[module] = { ...all[module], stale: { date: new Date().toISOString(), reason } };
  writeResults(all);
}

export function readResults(): Record<string, BenchSection> {
  try {
    return JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch {
    return {};
  }
}

export function writeResults(all: Record<string, BenchSection>): void {
  fs.writeFileSync(jsonFile, JSON.stringify(all, null, 2) + '\n');
  fs.writeFileSync(mdFile, renderMarkdown(all));
}

// results.json stores NaN as null: a figure a run could not measure renders as blank, not a crash.
const fmt = (n: number | undefined | null) =>
  n === undefined || n === null || Number.isNaN(n) ? '' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

function orderOf(modules: string[]): string[] {
  const rank = (m: string) => (BENCH_MODULES as readonly string[]).indexOf(m) + 1 || 99;
  return [...new Set([...BENCH_MODULES, ...modules])].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function goalsMet(s: BenchSection): string {
  const judged = s.rows.filter((r) => r.met !== undefined);
  if (!judged.length) return '—';
  return `${judged.filter((r) => r.met).length} of ${judged.length}`;
}

export function renderMarkdown(all: Record<string, BenchSection>): string {
  const modules = orderOf(Object.keys(all));
  const lines = [
    '# Benchmark results',
    '',
    'Written by the benchmarks themselves (`bench/lib/report.ts`); `npm run bench` runs them all in turn',
    '(`npm run bench -- --quick` for shortened runs, `-- --only queue,stats` for some). Every figure stands',
    'beside the ceiling it is compared with, measured in the same run on the same machine.',
    '',
    '| module | measured | CPU | figures | goals met |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const name of modules) {
    const s = all[name];
    if (!s) {
      lines.push(`| ${name} | not yet | | | |`);
      continue;
    }
    const flags = [s.quick ? 'quick run' : '', s.stale ? `last run failed ${when(s.stale.date)}` : ''].filter(Boolean).join('; ');
    lines.push(`| [${name}](#${name}) | ${when(s.date)}${flags ? ` (${flags})` : ''} | ${escapeCell(s.cpu)} | ${s.rows.length} | ${goalsMet(s)} |`);
  }
  lines.push('');
  for (const name of modules) {
    const s = all[name];
    lines.push(`## ${name}`, '');
    if (!s) {
      lines.push(`Not measured yet: \`npm run bench:${name}\` does not exist or has not recorded a run.`, '');
      continue;
    }
    lines.push(`Command: \`${s.command}\` — ${when(s.date)} on ${s.cpu}${s.quick ? ' — **quick run** (shortened: indicative figures)' : ''}`, '');
    if (s.stale) lines.push(`> **Not re-measured:** the run of ${when(s.stale.date)} failed (${s.stale.reason}); the figures below are from ${when(s.date)}.`, '');
    lines.push('| figure | value | ceiling (same run) | ratio | goal | met |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of s.rows) {
      const ceiling = r.ceiling ? `${fmt(r.ceiling.value)} ${r.unit} (${escapeCell(r.ceiling.name)})` : '';
      const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
      lines.push(`| ${escapeCell(r.figure)} | ${fmt(r.value)} ${r.unit} | ${ceiling} | ${r.ratio === undefined ? '' : fmt(r.ratio)} | ${escapeCell(r.goal ?? '')} | ${met} |`);
    }
    if (s.notes?.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
    lines.push('');
  }
  return lines.join('\n');
}

export function printSection(s: BenchSection): void {
  console.log(`\n${s.module}: ${s.command}${s.quick ? ' (quick run)' : ''}`);
  console.table(
    s.rows.map((r) => ({
      figure: r.figure,
      value: `${fmt(r.value)} ${r.unit}`,
      ceiling: r.ceiling ? `${fmt(r.ceiling.value)} (${r.ceiling.name})` : '',
      ratio: r.ratio === undefined ? '' : fmt(r.ratio),
      goal: r.goal ?? '',
      met: r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    })),
  );
}
