// The SQL queue's ceiling: the statements a SQL job queue cannot do without (insert each job,
// claim due jobs in batches, record each outcome), run directly on the engine — better-sqlite3
// or one pg connection — with no driver, no leases, no events around them.
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

export interface RawSqlOptions {
  /** SQLite file in this directory … */
  dataDir?: string;
  /** … or this PostgreSQL database */
  databaseUrl?: string;
  jobs: number;
  /** jobs claimed per statement (the driver's worker concurrency) */
  batch: number;
  log?: (line: string) => void;
}

/** Seconds to insert `jobs` rows, and to claim and finish them all. */
export async function rawSqlCeiling(options: RawSqlOptions): Promise<{ enqueue: number; process: number }> {
  return options.databaseUrl ? rawPostgres(options.databaseUrl, options) : rawSqlite(options.dataDir!, options);
}

const CREATE = `create table raw_jobs (id text primary key, name text not null, data text not null, state text not null,
  run_at bigint not null, created_at bigint not null, started_at bigint, finished_at bigint, result text)`;
const INDEX = 'create index raw_jobs_claim on raw_jobs (name, state, run_at)';

function rawSqlite(dataDir: string, options: RawSqlOptions): { enqueue: number; process: number } {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new SqliteDatabase(path.join(dataDir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(CREATE);
  db.exec(INDEX);
  const insert = db.prepare("insert into raw_jobs (id, name, data, state, run_at, created_at) values (?, 'raw', ?, 'queued', ?, ?)");
  const insertMany = db.transaction((from: number, to: number, now: number) => {
    for (let i = from; i < to; i++) insert.run(`job-${i}`, JSON.stringify({ n: i }), now, now);
  });
  let started = performance.now();
  for (let i = 0; i < options.jobs; i += 1_000) insertMany(i, Math.min(options.jobs, i + 1_000), Date.now());
  const enqueue = (performance.now() - started) / 1000;

  const claim = db.prepare(`update raw_jobs set state = 'active', started_at = ? where id in (
    select id from raw_jobs where name = 'raw' and state = 'queued' and run_at <= ? order by run_at limit ?) returning id, data`);
  const finish = db.prepare("update raw_jobs set state = 'completed', result = 'null', finished_at = ? where id = ? and state = 'active'");
  const finishMany = db.transaction((ids: string[], now: number) => {
    for (const id of ids) finish.run(now, id);
  });
  started = performance.now();
  let done = 0;
  for (;;) {
    const now = Date.now();
    const rows = claim.all(now, now, options.batch) as { id: string; data: string }[];
    if (!rows.length) break;
    for (const row of rows) JSON.parse(row.data);
    finishMany(rows.map((row) => row.id), Date.now());
    done += rows.length;
  }
  const processSeconds = (performance.now() - started) / 1000;
  db.close();
  if (done !== options.jobs) throw new Error(`raw SQLite processed ${done} of ${options.jobs}`);
  options.log?.(`raw SQLite: ${Math.round(options.jobs / enqueue)} inserts/s, ${Math.round(options.jobs / processSeconds)} jobs/s claimed and finished`);
  return { enqueue, process: processSeconds };
}

async function rawPostgres(url: string, options: RawSqlOptions): Promise<{ enqueue: number; process: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(CREATE);
    await client.query(INDEX);
    let started = performance.now();
    for (let i = 0; i < options.jobs; i += 500) {
      const now = Date.now();
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let k = i; k < Math.min(options.jobs, i + 500); k++) {
        const p = values.length;
        tuples.push(`($${p + 1}, 'raw', $${p + 2}, 'queued', $${p + 3}, $${p + 3})`);
        values.push(`job-${k}`, JSON.stringify({ n: k }), now);
      }
      await client.query(`insert into raw_jobs (id, name, data, state, run_at, created_at) values ${tuples.join(', ')}`, values);
    }
    const enqueue = (performance.now() - started) / 1000;

    started = performance.now();
    let done = 0;
    for (;;) {
      const now = Date.now();
      const { rows } = await client.query<{ id: string; data: string }>(
        `update raw_jobs set state = 'active', started_at = $1 where id in (
          select id from raw_jobs where name = 'raw' and state = 'queued' and run_at <= $1 order by run_at limit $2 for update skip locked)
         returning id, data`,
        [now, options.batch],
      );
      if (!rows.length) break;
      for (const row of rows) JSON.parse(row.data);
      await client.query("update raw_jobs set state = 'completed', result = 'null', finished_at = $1 where id = any($2) and state = 'active'", [Date.now(), rows.map((row) => row.id)]);
      done += rows.length;
    }
    const processSeconds = (performance.now() - started) / 1000;
    if (done !== options.jobs) throw new Error(`raw PostgreSQL processed ${done} of ${options.jobs}`);
    options.log?.(`raw PostgreSQL: ${Math.round(options.jobs / enqueue)} inserts/s, ${Math.round(options.jobs / processSeconds)} jobs/s claimed and finished`);
    return { enqueue, process: processSeconds };
  } finally {
    await client.end();
  }
}
