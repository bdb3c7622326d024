// GET /dashboard/events: one server-sent-events stream per open page. It sends the panels that
// changed since the last message: every second, and at once when a task it shows moves
// (it subscribes to the job events of the unfinished tasks on the page).
// Reads are shared by all open streams (DashboardData), so a second per tick is one set of queries.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JobQueue } from '../../infra/queue/contract.js';
import { FINAL_STATES } from '../../infra/queue/contract.js';
import type { DashboardData, DashboardSummary } from './summary.js';
import { type PanelFragments, renderPanels } from './views/panels.js';

export interface LiveStreamOptions {
  /** how often the panels are read again, which is how soon a new task shows (default 1 s) */
  intervalMs?: number;
  /** a comment line that keeps proxies from closing a quiet stream (default 15 s) */
  heartbeatMs?: number;
}

/** Open streams, ended when the app closes: a hijacked response would otherwise hold the server. */
export class LiveStreams {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly data: DashboardData,
    private readonly queue: JobQueue,
    private readonly options: LiveStreamOptions = {},
  ) {}

  endAll(): void {
    for (const end of [...this.open]) end();
  }

  serve(request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // HEAD gets the head only: Node drops the events' bytes, so the head would never be flushed.
    if (request.method === 'HEAD') return void raw.end();
    raw.write('retry: 3000\n\n');

    let sent: Partial<PanelFragments> = {};
    let ended = false;
    let pushing = false;
    let pushAgain = false;
    let soon: NodeJS.Timeout | undefined;
    const watched = new Map<string, () => void>();

    const push = async (maxAgeMs: number) => {
      if (pushing) return void (pushAgain = true);
      pushing = true;
      try {
        const summary = await this.data.read(maxAgeMs);
        if (ended) return;
        const panels = renderPanels(summary);
        const changed = Object.fromEntries(Object.entries(panels).filter(([name, html]) => sent[name as keyof PanelFragments] !== html));
        if (Object.keys(changed).length) raw.write(`event: panels\ndata: ${JSON.stringify(changed)}\n\n`);
        sent = panels;
        watch(summary);
      } catch (error) {
        request.log.warn({ err: error }, 'dashboard stream update failed');
      } finally {
        pushing = false;
        if (pushAgain && !ended) {
          pushAgain = false;
          void push(0);
        }
      }
    };
    // Many events in a burst (a batch of jobs finishing) lead to one read.
    const pushSoon = () => {
      if (soon || ended) return;
      soon = setTimeout(() => {
        soon = undefined;
        void push(100);
      }, 100);
    };
    const watch = (summary: DashboardSummary) => {
      const unfinished = new Set(summary.tasks.available ? summary.tasks.data.filter((t) => !FINAL_STATES.has(t.state)).map((t) => t.id) : []);
      for (const [id, unsubscribe] of watched) {
        if (!unfinished.has(id)) {
          unsubscribe();
          watched.delete(id);
        }
      }
      for (const id of unfinished) if (!watched.has(id)) watched.set(id, this.queue.subscribe(id, pushSoon));
    };

    const ticker = setInterval(() => void push(1000), this.options.intervalMs ?? 1000);
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), this.options.heartbeatMs ?? 15_000);
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(ticker);
      clearInterval(heartbeat);
      clearTimeout(soon);
      for (const unsubscribe of watched.values()) unsubscribe();
      watched.clear();
      this.open.delete(end);
      raw.end();
    };
    this.open.add(end);
    request.raw.on('close', end);
    void push(1000);
  }
}
