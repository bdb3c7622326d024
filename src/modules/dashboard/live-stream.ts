// GET /dashboard/events: one server-sent-events stream per open page. It sends the panels that
// changed since the last message: every second, and at once when a task it shows moves
// (it subscribes to the job events of the unfinished tasks on the page).
// Reads are shared by all open streams (DashboardData), so a second per tick is one set of queries.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EventStreams } from '../../http/sse.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { FINAL_STATES } from '../../infra/queue/contract.js';
import type { DashboardData, DashboardSummary } from './summary.js';
import { renderPanels } from './views/panels.js';

export interface LiveStreamOptions {
  /** how often the panels are read again, which is how soon a new task shows (default 1 s) */
  intervalMs?: number;
  /** a comment line that keeps proxies from closing a quiet stream (default 15 s) */
  heartbeatMs?: number;
}

export class LiveStreams {
  /** one per open stream: reads the panels and sends those that changed */
  private readonly pushers = new Set<() => void>();

  constructor(
    private readonly streams: EventStreams,
    private readonly data: DashboardData,
    private readonly queue: JobQueue,
    private readonly options: LiveStreamOptions = {},
  ) {}

  /** Something changed (a button was pressed): every open page gets fresh panels now, not at its next tick. */
  refresh(): void {
    this.data.forget();
    for (const push of this.pushers) push();
  }

  serve(request: FastifyRequest, reply: FastifyReply): void {
    let sent: Record<string, string> = {};
    let ended = false;
    let pushing = false;
    let pushAgain = false;
    let soon: NodeJS.Timeout | undefined;
    const watched = new Map<string, () => void>();
    // After refresh() the first stream to push reads anew; the others share that read.
    const pushNow = () => void push(1000);
    const stream = this.streams.open(request, reply, {
      retryMs: 3000,
      heartbeatMs: this.options.heartbeatMs,
      onEnd: () => {
        ended = true;
        this.pushers.delete(pushNow);
        clearInterval(ticker);
        clearTimeout(soon);
        for (const unsubscribe of watched.values()) unsubscribe();
        watched.clear();
      },
    });
    if (!stream) return;

    const push = async (maxAgeMs: number) => {
      if (pushing) return void (pushAgain = true);
      pushing = true;
      try {
        const summary = await this.data.read(maxAgeMs);
        if (ended) return;
        const panels = Object.fromEntries(Object.entries(renderPanels(summary)).map(([name, fragment]) => [name, fragment.value]));
        const changed = Object.fromEntries(Object.entries(panels).filter(([name, html]) => sent[name] !== html));
        if (Object.keys(changed).length) stream.send('panels', changed);
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

    this.pushers.add(pushNow);
    const ticker = setInterval(() => void push(1000), this.options.intervalMs ?? 1000);
    void push(1000);
  }
}
