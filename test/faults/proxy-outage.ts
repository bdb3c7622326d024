// The outage both fault suites stage through a fault proxy (connections cut, or packets dropped)
// and what they require of it: saves queued just before the fault are all stored in the end, every
// route that needs the engine answers 503 naming it within 1 s and the others keep answering, and
// all is back to normal within 5 s of the engine's return, without a restart.
import type pg from 'pg';
import { expect } from 'vitest';
import type { DependencyName } from '../../src/errors.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { recordFigures } from '../support/suite-figures.js';
import { type Probe, ask, outageProblem, waitForRecovery } from './outage-probes.js';

export const feedback = (message: string) => ({ name: 'Fault test', email: 'fault@example.com', message });

export interface ProxyOutage {
  fault: 'cut' | 'blackhole';
  dependency: DependencyName;
  baseUrl: string;
  proxy: FaultProxy;
  probes: Probe[];
  /** straight to the database, not through the proxy: counts what was stored */
  direct: pg.Client;
  /** every save acknowledged so far in the suite; this outage's are added to it */
  acknowledged: string[];
}

export const outageTitle = (fault: ProxyOutage['fault'], dependency: DependencyName) =>
  `${fault === 'cut' ? 'connections cut' : 'packets dropped'}: 503 naming ${dependency} within 1 s where needed, answers elsewhere, back within 5 s, nothing lost`;

export async function checkProxyOutage(outage: ProxyOutage, task: Parameters<typeof recordFigures>[0]): Promise<void> {
  const { fault, dependency, baseUrl, proxy, probes, direct, acknowledged } = outage;
  const storedCount = async (ids: string[]) => Number((await direct.query('select count(*) as n from feedback_entries where id = any($1)', [ids])).rows[0].n);
  // Saves queued just before the fault: the worker is busy with them when it strikes.
  const queued = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(baseUrl, { name: 'enqueue', needs: null, method: 'POST', url: '/feedback/async', body: feedback(`${fault}-${i}`) })));
  const batch = queued.filter((a) => a.status === 202).map((a) => a.body.task_id as string);
  expect(batch.length).toBe(200);
  acknowledged.push(...batch);

  if (fault === 'cut') proxy.cut();
  else proxy.blackhole();
  const problems: string[] = [];
  let answers = 0;
  for (let round = 0; round < 3; round++) {
    for (const answer of await Promise.all(probes.map((probe) => ask(baseUrl, probe)))) {
      answers++;
      const problem = outageProblem(answer, dependency, 1_000);
      if (problem) problems.push(`round ${round}: ${problem}`);
    }
  }
  proxy.restore();
  const recoveryMs = await waitForRecovery(baseUrl, probes, 5_000);

  const deadline = Date.now() + 60_000;
  while ((await storedCount(acknowledged)) < acknowledged.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const stored = await storedCount(acknowledged);
  recordFigures(task, [{ subject: `${dependency} ${fault === 'cut' ? 'cut' : 'unreachable'}`, faults: 1, answersDuringFault: answers, wrongAnswers: problems.length, recoveryMs: Math.round(recoveryMs), queuedAcknowledged: batch.length, queuedLost: acknowledged.length - stored }]);
  expect(problems).toEqual([]);
  expect(stored).toBe(acknowledged.length);
}
