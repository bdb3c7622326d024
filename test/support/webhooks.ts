// Helpers for the webhooks tests: a Workyard with feedback and webhooks on one of the driver
// setups (private addresses allowed, so that a loopback receiver can be registered), with quick
// retries, and admin calls with its API key.
import type { LightMyRequestResponse } from 'fastify';
import type { WorkyardModule } from '../../src/app-context.js';
import type { RequestPressure } from '../../src/infra/request-pressure.js';
import { feedbackModule } from '../../src/modules/feedback/index.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { type WebhooksOptions, createWebhooksModule } from '../../src/modules/webhooks/index.js';
import type { Driver } from './drivers.js';
import { type TestWorkyard, startTestWorkyard } from './workyard.js';

export const ADMIN_KEY = 'webhooks-test-key';

export interface WebhooksWorkyard extends TestWorkyard {
  /** an admin request (JSON body) */
  admin(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** registers a webhook; resolves with its id */
  register(url: string, events: string[], secret: string): Promise<string>;
}

export async function startWebhooksWorkyard(
  driver: Driver,
  options: { webhooks?: WebhooksOptions; env?: Record<string, string>; modules?: WorkyardModule[]; requestPressure?: RequestPressure } = {},
): Promise<WebhooksWorkyard> {
  const drivers = await driver.setUp();
  const modules = options.modules ?? [tasksModule, feedbackModule];
  const wy = await startTestWorkyard(
    { ...drivers.env, WORKYARD_API_KEY: ADMIN_KEY, WORKYARD_WEBHOOKS_ALLOW_PRIVATE: 'true', ...options.env },
    { modules: [...modules, createWebhooksModule({ retryDelaysMs: [200, 400], attemptTimeoutMs: 1_000, ...options.webhooks })], infra: { eventsPollMs: 50, queuePollMs: 20 }, requestPressure: options.requestPressure },
  );
  const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
    wy.workyard.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  return {
    ...wy,
    admin,
    async register(url, events, secret) {
      const res = await admin('POST', '/webhooks', { url, events, secret });
      if (res.statusCode !== 201) throw new Error(`POST /webhooks answered ${res.statusCode}: ${res.body}`);
      return res.json().id as string;
    },
    async close() {
      await wy.close();
      await drivers.cleanup();
    },
  };
}
