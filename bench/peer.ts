// Benchmark: Workyard against the seed-style peer the briefs built (bench/peer/app.py: Flask under
// gunicorn -w 4, SQLAlchemy over SQLite, Celery with a Redis broker, a Redis sorted set per path),
// on the three routes a user of the seeds meets first: the feedback saved in the request, the
// feedback queued for a worker, and a counted GET. Every server is pinned to core 0 (Workyard's
// one process; the peer's four gunicorn workers and its Celery worker), wrk to core 1, one
// server at a time, interleaved over rounds; the medians are compared. The bare Fastify routes
// against the same peer routes are the ceiling of each ratio: Workyard cannot beat a route that
// does nothing.
//   npm run bench:peer [-- --quick]
// Needs wrk, taskset and Debian's python3-flask gunicorn python3-celery python3-sqlalchemy
// python3-redis (apt-get install wrk gunicorn python3-flask python3-celery python3-sqlalchemy python3-redis),
// and Redis on 127.0.0.1:6379 (the peer uses its database 14).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { NODE_FLAGS } from '../src/node-flags.js';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { Redis } from 'ioredis';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';
import { median } from './lib/median.js';

const QUICK = quickMode();
const SECONDS = QUICK ? 2 : 5;
const ROUNDS = QUICK ? 1 : 3;
const CONNECTIONS = 32;
const PYTHON = '/usr/bin/python3';
const REDIS_URL = 'redis://127.0.0.1:6379/14';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JSON_BODY = JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', message: 'The engine works, and it is fast.', rating: 5 });

for (const [what, check] of [['wrk', () => execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' })], ['taskset', () => execFileSync('taskset', ['-c', '0', 'true'])], ['the peer\'s Python packages', () => execFileSync(PYTHON, ['-c', 'import flask, celery, sqlalchemy, redis, gunicorn'])]] as const) {
  try {
    check();
  } catch {
    console.error(`bench:peer needs ${what}: apt-get install wrk gunicorn python3-flask python3-celery python3-sqlalchemy python3-redis`);
    process.exit(1);
  }
}

const children: ChildProcess[] = [];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-bench-peer-'));
const stopAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
};
process.on('exit', stopAll);
const deadline = setTimeout(() => {
  console.error('bench:peer did not finish within 10 minutes');
  process.exit(1);
}, 600_000);
deadline.unref();

/** Distinct free ports, all held at once while asked for (one at a time, the same port can come back twice). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.once('listening', resolve))));
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A server on core 0; its output goes to a log in the data directory (shown when it fails). */
function pinned(name: string, command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  const log = fs.openSync(path.join(dataDir, `${name}.log`), 'a');
  const child = spawn('taskset', ['-c', '0', command, ...args], { cwd: options.cwd ?? root, env: { ...process.env, ...options.env }, stdio: ['ignore', log, log] });
  children.push(child);
  return child;
}

async function waitFor(url: string, name: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} did not answer ${url} within 60 s: ${fs.readFileSync(path.join(dataDir, `${name}.log`), 'utf8').slice(-2000)}`);
}

const luaFiles = {
  post: writeLua('post', `wrk.method = "POST"\nwrk.body = '${JSON_BODY}'\nwrk.headers["Content-Type"] = "application/json"\n`),
  // 100 paths in turn: a counter per path, as the stats brief counts them
  get: writeLua('get', 'local i = 0\nrequest = function()\n  i = (i + 1) % 100\n  return wrk.format("GET", wrk.path .. i .. "/")\nend\n'),
};
function writeLua(name: string, text: string): string {
  const file = path.join(dataDir, `${name}.lua`);
  fs.writeFileSync(file, text);
  return file;
}

/** Requests a second from wrk on core 1; any socket error or non-2xx answer fails the benchmark. */
function wrk(url: string, kind: 'post' | 'get', label: string): number {
  const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', luaFiles[kind], url], { encoding: 'utf8' });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rate) throw new Error(`wrk printed no rate for ${url}:\n${out}`);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (bad || (errors && errors.slice(1).some((n) => Number(n) > 0))) throw new Error(`${label} (${url}): ${bad ? `${bad[1]} non-2xx answers` : ''} ${errors?.[0] ?? ''}`);
  return Number(rate[1]);
}

try {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb(); // the peer's own database: its queue and counters start empty
  await redis.quit();

  // Workyard: the embedded shape, API and worker in one process, as `npm start` runs it (dist/ when built)
  const [workyardPort, peerPort] = await freePorts(2);
  const built = fs.existsSync(path.join(root, 'dist/main.js'));
  pinned('workyard', process.execPath, built ? [...NODE_FLAGS, 'dist/main.js', 'start'] : [...NODE_FLAGS, '--import', 'tsx', 'src/main.ts', 'start'], {
    env: { WORKYARD_PORT: String(workyardPort), WORKYARD_DATA_DIR: path.join(dataDir, 'workyard'), WORKYARD_LOG_LEVEL: 'warn', WORKYARD_FORM_RATE_LIMIT: '0' },
  });
  const workyard = `http://127.0.0.1:${workyardPort}`;

  const bareChild = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', 'bench/lib/bare-server.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(bareChild);
  const bare = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: bareChild.stdout! }).once('line', resolve);
    bareChild.once('exit', (code) => reject(new Error(`the bare server exited with ${code}`)));
  });

  const peerEnv = { PEER_DATA_DIR: dataDir, PEER_REDIS_URL: REDIS_URL };
  pinned('gunicorn', '/usr/bin/gunicorn', ['-w', '4', '-b', `127.0.0.1:${peerPort}`, '--log-level', 'warning', 'app:app'], { cwd: path.join(root, 'bench/peer'), env: peerEnv });
  pinned('celery', PYTHON, ['-m', 'celery', '-A', 'app', 'worker', '-c', '1', '--loglevel', 'WARNING', '--without-gossip', '--without-mingle', '--without-heartbeat'], { cwd: path.join(root, 'bench/peer'), env: peerEnv });
  const peer = `http://127.0.0.1:${peerPort}`;
  await Promise.all([waitFor(`${workyard}/healthz`, 'workyard'), waitFor(`${peer}/count`, 'gunicorn')]);

  const routes = [
    { name: 'sync feedback POST', kind: 'post' as const, workyard: `${workyard}/feedback/sync`, peer: `${peer}/feedback/sync`, bare: `${bare}/bare`, goal: 30 },
    { name: 'queued feedback POST', kind: 'post' as const, workyard: `${workyard}/feedback/async`, peer: `${peer}/feedback/async`, bare: `${bare}/bare`, goal: 30 },
    { name: 'counted GET /api/*', kind: 'get' as const, workyard: `${workyard}/api/item/`, peer: `${peer}/api/item/`, bare: `${bare}/bare/item/`, goal: 20 },
  ];
  const sides = ['workyard', 'peer', 'bare'] as const;
  const rates = new Map(routes.map((route) => [route.name, { workyard: [] as number[], peer: [] as number[], bare: [] as number[] }]));
  const bar = new cliProgress.SingleBar({ format: 'bench:peer [{bar}] {value}/{total} runs of wrk · {what}', hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(routes.length * (ROUNDS + 1) * sides.length, 0, { what: 'warm-up' });
  for (const route of routes) for (const side of sides) { wrk(route[side], route.kind, `warm-up, ${side}, ${route.name}`); bar.increment(1, { what: `warm-up ${side} ${route.name}` }); }
  for (let round = 0; round < ROUNDS; round++) {
    for (const route of routes) {
      for (const side of sides) {
        rates.get(route.name)![side].push(wrk(route[side], route.kind, `round ${round + 1}, ${side}, ${route.name}`));
        bar.increment(1, { what: `round ${round + 1}: ${side} ${route.name}` });
      }
    }
  }
  bar.stop();

  const rows: BenchRow[] = [];
  for (const route of routes) {
    const measured = rates.get(route.name)!;
    const [w, p, b] = [median(measured.workyard), median(measured.peer), median(measured.bare)];
    rows.push({ figure: `${route.name}: Workyard ÷ peer`, value: w, unit: 'req/s', ceiling: { name: 'seed-style peer, same core', value: p }, ratio: w / p, goal: `≥ ${route.goal}×`, met: w / p >= route.goal });
    rows.push({ figure: `${route.name}: bare Fastify ÷ peer (the ceiling of the ratio above)`, value: b, unit: 'req/s', ceiling: { name: 'seed-style peer, same core', value: p }, ratio: b / p });
  }
  recordSection({
    module: 'peer',
    command: `npm run bench:peer${QUICK ? ' -- --quick' : ''}`,
    notes: [
      `Every server pinned to core 0 (all stay up; only the one under load is busy), wrk (1 thread, ${CONNECTIONS} connections, ${SECONDS} s) pinned to core 1; ${ROUNDS} interleaved round${ROUNDS === 1 ? '' : 's'} after a warm-up, medians.`,
      `Workyard: the embedded shape, \`node ${NODE_FLAGS.join(' ')} ${built ? 'dist/main.js start' : '--import tsx src/main.ts start'}\` (SQLite, the SQL queue, API and worker in one process). Peer: bench/peer/app.py — Flask ${pythonVersion('flask')} under gunicorn -w 4 (sync workers), SQLAlchemy ${pythonVersion('sqlalchemy')} over SQLite, Celery ${pythonVersion('celery')} (one worker process, Redis broker), Redis ZINCRBY per counted path; Debian's packages.`,
      'Both save the same JSON feedback; both queued paths answer once the job is in their queue (rows are written by the worker after).',
    ],
    rows,
  });
} finally {
  stopAll();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

function pythonVersion(module: string): string {
  return execFileSync(PYTHON, ['-c', `import ${module}; print(${module}.__version__)`], { encoding: 'utf8' }).trim();
}
