// `npm run bench`: every module's benchmark in turn (each is its own process, so one cannot skew
// the next), with progress, then bench/RESULTS.md and bench/results.json regenerated.
//   npm run bench -- --quick              shortened runs (each benchmark reads --quick)
//   npm run bench -- --only queue,stats   some modules only
//   npm run bench -- --timeout 600        seconds one benchmark may take before it is stopped
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { BENCH_MODULES, markStale, readResults, writeResults } from './lib/report.js';

type Outcome = { module: string; result: 'measured' | 'skipped' | 'failed'; detail: string; seconds: number };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, timeout: { type: 'string' } },
  allowPositionals: false,
});
const quick = values.quick ?? false;
const only = values.only ? values.only.split(',').map((m) => m.trim()).filter(Boolean) : null;
const timeoutMs = Number(values.timeout ?? (quick ? 240 : 900)) * 1000;
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout must be a number of seconds, not ${values.timeout}`);
const unknown = only?.filter((m) => !(BENCH_MODULES as readonly string[]).includes(m)) ?? [];
if (unknown.length) throw new Error(`--only names unknown modules: ${unknown.join(', ')} (known: ${BENCH_MODULES.join(', ')})`);

const scripts: Record<string, string> = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts ?? {};
const plan = BENCH_MODULES.filter((m) => !only || only.includes(m));

const tty = Boolean(process.stdout.isTTY);
const bars = tty ? new cliProgress.MultiBar({ format: ' {bar} {value}/{total} | {module} | {seconds} s', hideCursor: true, clearOnComplete: false, stopOnComplete: false }, cliProgress.Presets.shades_classic) : null;
const bar = bars?.create(plan.length, 0, { module: 'starting', seconds: 0 });
/** Prints above the progress bar when there is one, else as a plain line (CI logs). */
const say = (line: string) => (bars ? bars.log(`${line}\n`) : console.log(line));

let current: ChildProcess | null = null;
const stopCurrent = (signal: NodeJS.Signals) => {
  // The benchmark runs in its own process group: stop it and whatever servers it started.
  if (current?.pid) {
    try {
      process.kill(-current.pid, signal);
    } catch {
      /* already gone */
    }
  }
};
process.on('SIGINT', () => {
  stopCurrent('SIGTERM');
  bars?.stop();
  process.exit(130);
});

function runBenchmark(module: string, index: number): Promise<{ code: number | null; timedOut: boolean }> {
  const args = ['run', '--silent', `bench:${module}`, ...(quick ? ['--', '--quick'] : [])];
  const child = spawn('npm', args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(quick ? { WORKYARD_BENCH_QUICK: '1' } : {}) },
  });
  current = child;
  const prefix = `[${index + 1}/${plan.length} ${module}]`;
  for (const stream of [child.stdout, child.stderr]) readline.createInterface({ input: stream }).on('line', (line) => say(`${prefix} ${line}`));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    say(`${prefix} still running after ${timeoutMs / 1000} s: stopping it`);
    stopCurrent('SIGTERM');
    setTimeout(() => stopCurrent('SIGKILL'), 5_000).unref();
  }, timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      current = null;
      resolve({ code, timedOut });
    });
  });
}

const outcomes: Outcome[] = [];
const started = Date.now();
say(`Benchmarks${quick ? ' (quick)' : ''}: ${plan.join(', ')}`);
for (const [index, module] of plan.entries()) {
  const begun = Date.now();
  const ticker = bar ? setInterval(() => bar.update({ seconds: Math.round((Date.now() - begun) / 1000) }), 1000) : undefined;
  bar?.update(index, { module, seconds: 0 });
  if (!scripts[`bench:${module}`]) {
    say(`[${index + 1}/${plan.length} ${module}] skipped: there is no "bench:${module}" script yet`);
    outcomes.push({ module, result: 'skipped', detail: 'no bench script yet', seconds: 0 });
  } else {
    say(`[${index + 1}/${plan.length} ${module}] npm run bench:${module}${quick ? ' -- --quick' : ''}`);
    const { code, timedOut } = await runBenchmark(module, index);
    const seconds = Math.round((Date.now() - begun) / 1000);
    const section = readResults()[module];
    const recorded = section !== undefined && Date.parse(section.date) >= begun && !section.stale;
    if (code === 0 && recorded) {
      outcomes.push({ module, result: 'measured', detail: `${section.rows.length} figures`, seconds });
    } else {
      const reason = timedOut ? `stopped after ${timeoutMs / 1000} s` : code !== 0 ? `exit code ${code}` : 'finished without recording figures';
      markStale(module, reason);
      outcomes.push({ module, result: 'failed', detail: reason, seconds });
    }
    say(`[${index + 1}/${plan.length} ${module}] ${outcomes[outcomes.length - 1].result} in ${seconds} s`);
  }
  clearInterval(ticker);
  bar?.update(index + 1, { module: index + 1 === plan.length ? 'done' : module });
}
bars?.stop();

// Rendered again at the end, so the report lists every module, measured or not.
writeResults(readResults());
console.log(`\nAll benchmarks in ${Math.round((Date.now() - started) / 1000)} s; bench/RESULTS.md and bench/results.json are up to date.`);
console.table(outcomes.map((o) => ({ module: o.module, result: o.result, detail: o.detail, seconds: o.seconds })));
process.exitCode = outcomes.some((o) => o.result === 'failed') ? 1 : 0;
