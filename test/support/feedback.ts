// Helpers for the feedback module's tests: a Workyard on SQLite or on a fresh PostgreSQL database,
// and a browser-like form session (the page's cookie and token, then urlencoded posts).
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app-context.js';
import type { WorkyardModule } from '../../src/app-context.js';
import { deleteRedisPrefix } from './redis-keys.js';
import { createTestDatabase, needService, redisUrl, uniqueRedisPrefix } from './services.js';
import { type TestWorkyard, startTestWorkyard } from './workyard.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { feedbackModule } from '../../src/modules/feedback/index.js';

export type Dialect = 'sqlite' | 'postgres';
export type QueueDriver = 'sql' | 'bullmq';

export interface FeedbackSetup {
  dialect: Dialect;
  queue: QueueDriver;
  /** its engines answer; outside CI a setup whose engines do not is skipped */
  available: boolean;
}

/** The shapes a save job runs in: embedded, PostgreSQL with the SQL queue, PostgreSQL with BullMQ. */
export async function feedbackSetups(): Promise<FeedbackSetup[]> {
  const postgresOk = await needService('postgres');
  const redisOk = await needService('redis');
  return [
    { dialect: 'sqlite', queue: 'sql', available: true },
    { dialect: 'postgres', queue: 'sql', available: postgresOk },
    { dialect: 'postgres', queue: 'bullmq', available: postgresOk && redisOk },
  ];
}

/** Environment for a queue driver: BullMQ on the shared Redis under a prefix of its own. */
export function queueEnv(queue: QueueDriver): { env: Record<string, string>; cleanup(): Promise<unknown> } {
  if (queue === 'sql') return { env: {}, cleanup: async () => {} };
  const prefix = uniqueRedisPrefix('feedback');
  return { env: { WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: prefix }, cleanup: () => deleteRedisPrefix(redisUrl, prefix) };
}

export interface FeedbackWorkyard extends TestWorkyard {
  app: App;
  /** feedback rows in the database, straight from SQL */
  countRows(): Promise<number>;
}

/** A Workyard with the tasks and feedback modules only, so that the suite does not depend on the others. */
export async function startFeedbackWorkyard(dialect: Dialect, options: { queue?: QueueDriver; modules?: WorkyardModule[]; env?: Record<string, string> } = {}): Promise<FeedbackWorkyard> {
  const database = dialect === 'postgres' ? await createTestDatabase() : null;
  const queue = queueEnv(options.queue ?? 'sql');
  const wy = await startTestWorkyard(
    { ...(database ? { WORKYARD_DATABASE_URL: database.url } : {}), ...queue.env, ...options.env },
    { modules: options.modules ?? [tasksModule, feedbackModule] },
  );
  return {
    ...wy,
    app: wy.workyard.app,
    async countRows() {
      const row = await wy.workyard.ctx.database.db.selectFrom('feedback').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async close() {
      await wy.close();
      await database?.drop();
      await queue.cleanup();
    },
  };
}

export interface FormSession {
  cookie: string;
  token: string;
  post(path: string, fields: Record<string, string | string[]>, extra?: { token?: string | null; cookie?: string | null }): Promise<LightMyRequestResponse>;
}

/** Opens /feedback as a browser would and keeps its CSRF cookie and token for form posts. */
export async function openFormSession(app: App): Promise<FormSession> {
  const page = await app.inject({ url: '/feedback' });
  const cookie = String(page.headers['set-cookie']).split(';')[0];
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!cookie || !token) throw new Error('the feedback page did not set a CSRF cookie and token');
  return {
    cookie,
    token,
    post(path, fields, extra = {}) {
      const body = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(key, v);
      const tokenToSend = extra.token === undefined ? token : extra.token;
      if (tokenToSend !== null) body.append('_csrf', tokenToSend);
      const cookieToSend = extra.cookie === undefined ? cookie : extra.cookie;
      return app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookieToSend ? { cookie: cookieToSend } : {}) },
        payload: body.toString(),
      });
    },
  };
}

export const validFeedback = { name: 'Ada Lovelace', email: 'ada@example.com', message: 'The engine works.', rating: 5 };
