// Helpers for the feedback module's tests: a Workyard on one of the module-test drivers, and a
// browser-like form session (the page's cookie and token, then urlencoded posts).
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app-context.js';
import type { WorkyardModule } from '../../src/app-context.js';
import type { Driver } from './drivers.js';
import { type TestWorkyard, startTestWorkyard } from './workyard.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { feedbackModule } from '../../src/modules/feedback/index.js';
import { tablesOf } from './tables.js';

export interface FeedbackWorkyard extends TestWorkyard {
  app: App;
  /** feedback rows in the database, straight from SQL */
  countRows(): Promise<number>;
}

/** A Workyard with the tasks and feedback modules only, so that the suite does not depend on the others. */
export async function startFeedbackWorkyard(driver: Driver, options: { modules?: WorkyardModule[]; env?: Record<string, string> } = {}): Promise<FeedbackWorkyard> {
  const drivers = await driver.setUp();
  const wy = await startTestWorkyard({ ...drivers.env, ...options.env }, { modules: options.modules ?? [tasksModule, feedbackModule] });
  return {
    ...wy,
    app: wy.workyard.app,
    async countRows() {
      const row = await tablesOf(wy.workyard.ctx.database).selectFrom('feedback_entries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async close() {
      await wy.close();
      await drivers.cleanup();
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
  const started = /name="_started" value="([^"]+)"/.exec(page.body)?.[1];
  if (!cookie || !token || !started) throw new Error('the feedback page did not set a CSRF cookie and token, or a fill-time token');
  return {
    cookie,
    token,
    post(path, fields, extra = {}) {
      const body = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(key, v);
      const tokenToSend = extra.token === undefined ? token : extra.token;
      if (tokenToSend !== null) body.append('_csrf', tokenToSend);
      // the fill-time token, as the page's form sends it (a test of the spam rules sends its own)
      if (!('_started' in fields)) body.append('_started', started);
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
