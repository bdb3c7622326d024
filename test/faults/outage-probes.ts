// The routes a dependency outage is checked on: which engine each needs, what a request to it is,
// and the checks the outage tests make of every one (503 naming the engine within a second, or
// an answer as usual; back to normal within five seconds of the engine's return).
import type { DependencyName } from '../../src/errors.js';

export interface Probe {
  name: string;
  /** the engine the route cannot answer without, or null when it must keep answering */
  needs: DependencyName | null;
  method: string;
  url: string;
  body?: unknown;
}

export interface ProbeAnswer {
  probe: Probe;
  status: number;
  ms: number;
  body: any;
}

export async function ask(baseUrl: string, probe: Probe, timeoutMs = 10_000): Promise<ProbeAnswer> {
  const started = performance.now();
  try {
    const res = await fetch(baseUrl + probe.url, {
      method: probe.method,
      headers: probe.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: probe.body === undefined ? undefined : JSON.stringify(probe.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // a page, not JSON
    }
    return { probe, status: res.status, ms: performance.now() - started, body };
  } catch (error) {
    return { probe, status: 0, ms: performance.now() - started, body: String(error) };
  }
}

/** What is wrong with an answer given during an outage of `dependency`, or null. */
export function outageProblem(answer: ProbeAnswer, dependency: DependencyName, withinMs: number): string | null {
  const { probe, status, ms, body } = answer;
  const slow = ms > withinMs ? ` after ${Math.round(ms)} ms (more than ${withinMs})` : '';
  if (probe.needs === dependency) {
    // /readyz has a shape of its own: each dependency, up or down.
    const named =
      probe.url === '/readyz'
        ? body?.dependencies?.some((d: any) => d.name === dependency && d.status === 'down')
        : body?.error?.code === 'dependency_unavailable' && body?.error?.dependency === dependency;
    if (status !== 503 || !named) return `${probe.name}: expected 503 naming ${dependency}, got ${status} ${JSON.stringify(body).slice(0, 200)}${slow}`;
  } else if (status < 200 || status >= 400) {
    return `${probe.name}: should keep answering without ${dependency}, got ${status} ${JSON.stringify(body).slice(0, 200)}${slow}`;
  }
  return slow ? `${probe.name}: ${status}${slow}` : null;
}

/** Asks every probe until all answer as usual; resolves with how long that took, or rejects. */
export async function waitForRecovery(baseUrl: string, probes: Probe[], withinMs: number): Promise<number> {
  const started = performance.now();
  let last: string[] = [];
  while (performance.now() - started < withinMs) {
    const answers = await Promise.all(probes.map((probe) => ask(baseUrl, probe, withinMs)));
    last = answers.filter((a) => a.status < 200 || a.status >= 400).map((a) => `${a.probe.name}: ${a.status} ${JSON.stringify(a.body).slice(0, 160)}`);
    if (!last.length) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not back to normal within ${withinMs} ms:\n${last.join('\n')}`);
}
