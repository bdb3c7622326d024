// npm run cluster: the scaled shape on this machine — 2 API processes and 2 workers on Redis,
// PostgreSQL and s3rver, behind nginx. Prints the URL; Ctrl-C stops everything it started.
import net from 'node:net';
import pg from 'pg';
import { startS3rver } from '../../test/support/s3rver.js';
import { type Cluster, startCluster } from './cluster.js';
import { findNginx } from './nginx.js';

const redisUrl = process.env.WORKYARD_REDIS_URL ?? 'redis://127.0.0.1:6379';
const adminUrl = process.env.WORKYARD_CLUSTER_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseName = 'workyard_cluster';

function answers(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(1_000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function checkPrerequisites(): Promise<string[]> {
  const missing: string[] = [];
  if (!findNginx()) missing.push('nginx: not installed (apt-get install nginx-light)');
  if (!(await answers(redisUrl, 6379))) missing.push(`Redis: nothing answers at ${redisUrl} (start redis-server, or set WORKYARD_REDIS_URL)`);
  if (!(await answers(adminUrl, 5432))) missing.push(`PostgreSQL: nothing answers at ${adminUrl} (start it, or set WORKYARD_CLUSTER_ADMIN_DATABASE_URL)`);
  try {
    import.meta.resolve('s3rver');
  } catch {
    missing.push('s3rver: not installed (npm install, with dev dependencies)');
  }
  return missing;
}

async function ensureDatabase(): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  await client.connect();
  const exists = await client.query('select 1 from pg_database where datname = $1', [databaseName]);
  if (!exists.rowCount) await client.query(`create database ${databaseName}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

async function main(): Promise<void> {
  const missing = await checkPrerequisites();
  if (missing.length) {
    console.error(`cannot start the cluster; missing:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
    process.exit(1);
  }
  const databaseUrl = process.env.WORKYARD_DATABASE_URL ?? (await ensureDatabase());
  const s3 = await startS3rver();
  let cluster: Cluster | undefined;
  const stop = async () => {
    console.log('\nstopping the cluster…');
    await cluster?.stop();
    await s3.stop({ keepData: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    cluster = await startCluster({
      databaseUrl,
      redisUrl,
      redisPrefix: process.env.WORKYARD_REDIS_PREFIX ?? 'workyard-cluster',
      s3: { endpoint: s3.endpoint, bucket: 'workyard', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      port: Number(process.env.WORKYARD_CLUSTER_PORT ?? 0),
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await s3.stop();
    process.exit(1);
  }
  console.log(`Workyard cluster on ${cluster.url}  (nginx, round robin)`);
  for (const p of [...cluster.apis, ...cluster.workers]) console.log(`  ${p.role} ${p.index}: ${p.url}  pid ${p.child.pid}  log ${p.logFile}`);
  console.log(`  PostgreSQL ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}  Redis ${redisUrl}  S3 ${s3.endpoint} (data in ${s3.directory})`);
  console.log('Ctrl-C stops everything started here.');
}

await main();
