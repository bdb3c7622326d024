// Property-based fuzzing of every route in /openapi.json of a whole Workyard (embedded shape,
// temporary data directory), over real HTTP. Every answer must be a 2xx, 3xx or 4xx with the
// standard error shape — zero 5xx, no silence — and the process must stay up and responsive.
// Bounded in time: WORKYARD_FUZZ_BUDGET_MS (default 150 s) is shared among the routes.
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { modules as allModules } from '../../src/modules/index.js';
import { recordFigures } from '../support/suite-figures.js';
import { startTestWorkyard } from '../support/workyard.js';
import { type Operation, operationsOf, requestsFor } from './hostile-requests.js';
import { httpSender, sendRaw } from './http-send.js';
import { rawRequest, silenceAllowed } from './raw-http.js';
import { countOutcome, describeRequest, emptyTally, violation } from './verdict.js';

const BUDGET_MS = Number(process.env.WORKYARD_FUZZ_BUDGET_MS ?? 150_000);
const SEED = process.env.WORKYARD_FUZZ_SEED ? Number(process.env.WORKYARD_FUZZ_SEED) : Date.now() % 2 ** 31;
const REQUEST_TIMEOUT_MS = 15_000;

// Modules whose jobs would act beyond the route under test keep their routes but not their
// workers: harvest would fetch from the outside world what the fuzzer asks for, and stats test
// runs (up to a million requests each) would flood the server being fuzzed. Their jobs are
// tested by the modules' own suites; here their routes must still answer every input.
const JOBS_OFF = new Set(['harvest', 'stats']);
const modules = allModules.map((module) => (JOBS_OFF.has(module.name) ? { ...module, jobs: undefined } : module));

/**
 * Waits the API documents and the fuzzer does not sit out (their modules' tests cover them):
 * POST /sync/sum holds the request while the worker sleeps delay_ms (up to 60 s) and past the
 * sync timeout answers 504 with the task id, by design; POST /test/{n}/?wait=true holds it
 * until the run is over (up to 15 min). Valid inputs stay clear of those; hostile ones do not.
 */
const DOCUMENTED_WAITS: Record<string, (op: Operation) => void> = {
  'POST /sync/sum': (op) => {
    const delay = op.body?.schema.properties?.delay_ms;
    if (delay) delay.maximum = 1_000;
  },
  'POST /test/{n}/': (op) => {
    const wait = op.parameters.find((p) => p.in === 'query' && p.name === 'wait');
    if (wait) wait.schema = { const: false };
  },
};

// Errors are logged: a passing run logs none, and a 500 the fuzz finds then shows its stack (a
// 500 on GET /blobs seen once in CI, seed 1233634691, did not come back with that seed).
const wy = await startTestWorkyard(
  { WORKYARD_SYNC_TIMEOUT_MS: '5000', WORKYARD_HARVEST_ALLOW_PRIVATE: 'false', WORKYARD_LOG_LEVEL: 'error' },
  { modules },
);
const port = Number(new URL(wy.baseUrl).port);
const sender = httpSender(port, REQUEST_TIMEOUT_MS);
const spec = await (await fetch(`${wy.baseUrl}/openapi.json`)).json();
// WORKYARD_FUZZ_ROUTES (a regular expression over "METHOD /path") narrows a run while debugging.
const routeFilter = new RegExp(process.env.WORKYARD_FUZZ_ROUTES ?? '');
const operations = operationsOf(spec).filter((op) => routeFilter.test(`${op.method} ${op.path}`));
for (const op of operations) DOCUMENTED_WAITS[`${op.method} ${op.path}`]?.(op);
// WORKYARD_FUZZ_SLOW_MS writes requests slower than that to WORKYARD_FUZZ_SLOW_LOG as they happen.
const slowMs = Number(process.env.WORKYARD_FUZZ_SLOW_MS ?? 0);
const slowLog = process.env.WORKYARD_FUZZ_SLOW_LOG ?? 'fuzz-slow.log';
const MIN_RUNS = 25;
const rawBudgetMs = BUDGET_MS * 0.1;
const perOperationMs = Math.floor((BUDGET_MS * 0.9) / Math.max(1, operations.length));

async function healthy(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${wy.baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return performance.now() - started;
}

/**
 * Runs `check` on inputs drawn from `arbitrary` (reproducible from the seed) until the time budget
 * is spent, but never fewer than `minRuns`: on a busy machine a route still gets its share.
 */
async function fuzz<T>(arbitrary: fc.Arbitrary<T>, budgetMs: number, minRuns: number, check: (input: T) => Promise<void>): Promise<number> {
  const started = performance.now();
  let runs = 0;
  for (let batch = 0; runs < minRuns || performance.now() - started < budgetMs; batch++) {
    for (const input of fc.sample(arbitrary, { numRuns: 25, seed: SEED + batch })) {
      await check(input);
      runs++;
      if (runs >= minRuns && performance.now() - started >= budgetMs) break;
    }
  }
  return runs;
}

describe(`fuzzing every route of /openapi.json (seed ${SEED})`, () => {
  afterAll(async () => {
    await wy.close();
  });

  it('finds the routes to fuzz in /openapi.json', () => {
    if (process.env.WORKYARD_FUZZ_ROUTES) return void expect(operations.length).toBeGreaterThan(0);
    expect(operations.map((op) => `${op.method} ${op.path}`)).toEqual(expect.arrayContaining(['GET /healthz', 'GET /tasks/{id}', 'DELETE /tasks/{id}']));
  });

  it.for(operations.map((op): [string, Operation] => [`${op.method} ${op.path}`, op]))(
    '%s answers hostile input with 2xx/3xx/4xx and the standard error shape',
    { timeout: perOperationMs + MIN_RUNS * REQUEST_TIMEOUT_MS },
    async ([subject, op], { task }) => {
      const tally = emptyTally();
      const violations: string[] = [];
      await fuzz(requestsFor(op), perOperationMs, MIN_RUNS, async (request) => {
        if (process.env.WORKYARD_FUZZ_TRACE) fs.appendFileSync(process.env.WORKYARD_FUZZ_TRACE, `${subject} → ${describeRequest(request)}\n`);
        const outcome = await sender.send(request);
        countOutcome(tally, outcome);
        if (slowMs && !('notSent' in outcome) && ('answer' in outcome ? outcome.answer.ms : outcome.ms) > slowMs) {
          fs.appendFileSync(slowLog, `${subject} slow: ${describeRequest(request)} → ${JSON.stringify(outcome).slice(0, 200)}\n`);
        }
        const problem = violation(request, outcome);
        if (problem && violations.length < 20) violations.push(`${problem}\n    ← ${describeRequest(request)}`);
      });
      const healthzMs = await healthy();
      recordFigures(task, [{ subject, inputs: tally.tried, '2xx': tally['2xx'], '4xx': tally['4xx'], '5xx': tally['5xx'], noAnswer: tally.noAnswer, healthzMs: Math.round(healthzMs) }]);
      expect(violations, `${subject}: ${violations.length} bad answers (seed ${SEED})`).toEqual([]);
      expect(tally.tried).toBeGreaterThanOrEqual(MIN_RUNS);
    },
  );

  it('answers malformed HTTP (bad request lines, headers, lengths, chunks) with a 4xx in the standard shape', async ({ task }) => {
    const paths = [...new Set(operations.map((op) => op.path.replace(/\{[^}]+\}/g, 'x')))];
    let silentByDesign = 0;
    const tally = emptyTally();
    const violations: string[] = [];
    await fuzz(rawRequest(paths), rawBudgetMs, 3 * MIN_RUNS, async ({ name, path, bytes }) => {
      const outcome = await sendRaw(port, bytes, silenceAllowed.has(name) ? 1_000 : REQUEST_TIMEOUT_MS);
      if ('noAnswer' in outcome && silenceAllowed.has(name)) return void silentByDesign++;
      countOutcome(tally, outcome);
      const problem = violation({ method: 'GET' }, outcome);
      if (problem && violations.length < 20) violations.push(`${problem}\n    ← ${name} on ${path}`);
    });
    recordFigures(task, [{ subject: 'raw HTTP', inputs: tally.tried + silentByDesign, silentByDesign, '2xx': tally['2xx'], '4xx': tally['4xx'], '5xx': tally['5xx'], noAnswer: tally.noAnswer }]);
    expect(violations, `raw HTTP: ${violations.length} bad answers (seed ${SEED}):\n${violations.join('\n')}`).toEqual([]);
    await healthy();
  }, rawBudgetMs + 3 * MIN_RUNS * REQUEST_TIMEOUT_MS);

  it('is still up after all of it: /healthz and /readyz answer, and fast', async ({ task }) => {
    const healthzMs = await healthy();
    const ready = await fetch(`${wy.baseUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
    recordFigures(task, [{ subject: 'still up at the end', readyzStatus: ready.status, healthzMs: Math.round(healthzMs) }]);
    expect(ready.status).toBe(200);
    expect(healthzMs).toBeLessThan(1_000);
  });
});
