// How long Workyard takes from process start to its first /healthz 200, run from sources
// (`npm start`: tsx compiles on the fly) and from the build (`node dist/main.js start`), each on an
// empty data dir, and the built process's resident memory once idle. Recorded in
// bench/RESULTS.md (section "startup") like every benchmark.
//
//   npm run build && npm run bench:startup      (runs: WORKYARD_STARTUP_RUNS, 5 by default)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordSection } from '../../bench/lib/report.js';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { freePort } from '../../test/support/free-port.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const RUNS = Number(process.env.WORKYARD_STARTUP_RUNS ?? 5);

interface Run {
  ms: number;
  rssMiB?: number;
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** One start: the command in its own process group (npm start's server is npm's grandchild), stopped as a group. */
async function startOnce(command: string, args: string[], measureRss: boolean): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-startup-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WORKYARD_PORT: String(port), WORKYARD_DATA_DIR: dataDir, WORKYARD_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  try {
    for (;;) {
      if (performance.now() - started > 60_000 || child.exitCode !== null) throw new Error(`${command} ${args.join(' ')}: no /healthz 200 within 60 s:\n${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((response) => response.ok, () => false);
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ms = performance.now() - started;
    if (!measureRss) return { ms };
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // idle: start-up work and first GC done
    return { ms, rssMiB: rssMiB(child.pid!) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (!fs.existsSync(path.join(REPO, 'dist/main.js'))) throw new Error('dist/main.js is missing: npm run build first');
const loadBefore = os.loadavg()[0];
const fromSources: Run[] = [];
const fromBuild: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  // alternated, so that a busy moment of the machine weighs on both alike
  fromSources.push(await startOnce('npm', ['start', '--silent'], false));
  fromBuild.push(await startOnce(process.execPath, [...NODE_FLAGS, 'dist/main.js', 'start'], true));
  console.log(`run ${i + 1}/${RUNS}: npm start ${Math.round(fromSources.at(-1)!.ms)} ms, node dist/main.js start ${Math.round(fromBuild.at(-1)!.ms)} ms, ${fromBuild.at(-1)!.rssMiB!.toFixed(1)} MiB`);
}
const sourceMs = median(fromSources.map((run) => run.ms));
const buildMs = median(fromBuild.map((run) => run.ms));
const idleMiB = median(fromBuild.map((run) => run.rssMiB!));
const range = (runs: Run[]) => `${Math.round(Math.min(...runs.map((run) => run.ms)))}–${Math.round(Math.max(...runs.map((run) => run.ms)))} ms`;
recordSection({
  module: 'startup',
  command: 'npm run build && npm run bench:startup',
  notes: [
    `Node ${process.version}; median of ${RUNS} starts each, alternated, each on an empty data dir (embedded: SQLite, disk blobs), from spawn to the first /healthz 200 (polled every 5 ms).`,
    `npm start ${range(fromSources)}; node dist/main.js start ${range(fromBuild)}. npm start includes npm itself and tsx compiling the sources on the fly.`,
    'Idle RSS: the built process 3 s after its first /healthz 200, from /proc/<pid>/status (VmRSS), started as the image and the workyard command start it (NODE_FLAGS: --max-semi-space-size=8; without it the young generation alone is ~28 MiB larger on this 24 GiB machine).',
    `Load average (1 min) ${loadBefore.toFixed(1)} before and ${os.loadavg()[0].toFixed(1)} after the run, on ${os.cpus().length} cores: above ~0.5 other work shared the machine, and these times are upper bounds.`,
  ],
  rows: [
    { figure: 'npm start: process start → /healthz 200', value: sourceMs, unit: 'ms' },
    { figure: 'node dist/main.js start: process start → /healthz 200', value: buildMs, unit: 'ms', ceiling: { name: 'npm start, same run', value: sourceMs }, ratio: buildMs / sourceMs, goal: '< 1 s (#23)', met: buildMs < 1_000 },
    // #23 says 120 MB: MiB here, so the goal is 120 × 10^6 bytes in MiB
    { figure: 'node dist/main.js start: idle RSS', value: idleMiB, unit: 'MiB', goal: '< 120 MB (114.4 MiB, #23)', met: idleMiB < 120e6 / 2 ** 20 },
  ],
});
