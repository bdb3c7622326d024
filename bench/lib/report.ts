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
}

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jsonFile = path.join(benchDir, 'results.json');
const mdFile = path.join(benchDir, 'RESULTS.md');
const ORDER = ['queue', 'feedback', 'compute', 'stats', 'blobs', 'harvest'];

export function cpuName(): string {
  return `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} × ${os.cpus().length}`;
}

export function recordSection(section: Omit<BenchSection, 'date' | 'cpu'>): void {
  const all = readResults();
  all[section.module] = { ...section, date: new Date().toISOString(), cpu: cpuName() };
  fs.writeFileSync(jsonFile, JSON.stringify(all, null, 2) + '\n');
  fs.writeFileSync(mdFile, renderMarkdown(all));
  printSection(all[section.module]);
}

export function readResults(): Record<string, BenchSection> {
  try {
    return JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch {
    return {};
  }
}

const fmt = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

export function renderMarkdown(all: Record<string, BenchSection>): string {
  const modules = Object.keys(all).sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  const lines = [
    '# Benchmark results',
    '',
    'Written by the benchmarks themselves (`bench/lib/report.ts`); `npm run bench` runs them all. Every',
    'figure stands beside the ceiling it is compared with, measured in the same run on the same machine.',
    '',
  ];
  for (const name of modules) {
    const s = all[name];
    lines.push(`## ${name}`, '', `Command: \`${s.command}\` — ${s.date.slice(0, 16).replace('T', ' ')} UTC on ${s.cpu}`, '');
    lines.push('| figure | value | ceiling (same run) | ratio | goal | met |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of s.rows) {
      const ceiling = r.ceiling ? `${fmt(r.ceiling.value)} ${r.unit} (${r.ceiling.name})` : '';
      const met = r.met === undefined ? '' : r.met ? 'yes' : 'no';
      lines.push(`| ${r.figure} | ${fmt(r.value)} ${r.unit} | ${ceiling} | ${r.ratio === undefined ? '' : fmt(r.ratio)} | ${r.goal ?? ''} | ${met} |`);
    }
    if (s.notes?.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
    lines.push('');
  }
  return lines.join('\n');
}

export function printSection(s: BenchSection): void {
  console.log(`\n${s.module}: ${s.command}`);
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
