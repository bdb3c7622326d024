// The shared engines tests run against: PostgreSQL and Redis, with URLs from the environment
// (.ci/run sets them). With CI=true a missing engine fails the suite loudly; outside CI the
// suites that need it are skipped, and say so.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';

export const inCI = process.env.CI === 'true';
export const postgresAdminUrl = process.env.WORKYARD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.WORKYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when the engine answers. In CI a missing engine throws, so the suite fails instead of skipping. */
export async function needService(name: 'postgres' | 'redis'): Promise<boolean> {
  const ok = name === 'postgres' ? await reachable(postgresAdminUrl, 5432) : await reachable(redisUrl, 6379);
  if (ok) return true;
  const url = name === 'postgres' ? postgresAdminUrl : redisUrl;
  if (inCI) throw new Error(`${name} is required in CI but does not answer at ${url}`);
  console.warn(`[workyard tests] ${name} does not answer at ${url}: skipping the suites that need it (outside CI only)`);
  return false;
}

/** A fresh PostgreSQL database for one test file, dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `wy_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A Redis key prefix no other test run uses. */
export function uniqueRedisPrefix(label = 'test'): string {
  return `wy-${label}-${randomBytes(5).toString('hex')}`;
}
