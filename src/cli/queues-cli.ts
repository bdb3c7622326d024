// `workyard queues [pause|resume NAME]`: per job name, what waits, runs and fails, and holding a
// name's new starts (while a database is migrated, say) through a running server.
import { CliError } from './api-client.js';
import { type CliIo, URL_HELP, clientFor, expectPositionals, parseCommandLine, processIo, runCommand, writeLine } from './command-line.js';
import { formatDuration, formatTable } from './table.js';

export interface QueueView {
  name: string;
  counts: Record<'queued' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled', number>;
  paused: boolean;
  oldest_waiting_ms: number | null;
  wait_ms: { p50: number; p95: number } | null;
  completions_per_minute: number;
}

export const QUEUES_USAGE = `usage: workyard queues [--json]
       workyard queues pause NAME
       workyard queues resume NAME

  Per job name: tasks in each state, paused or not, how long the oldest waiting task has waited,
  wait times (due → started) p50/p95 and completions per minute over the last 5 minutes.
  pause    no new task of NAME starts on any worker (running ones finish) until resume; kept across restarts
  resume   NAME's tasks start again
${URL_HELP}`;

/** `workyard queues …`; the exit code. */
export function queuesCommand(args: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand(args[0] === 'pause' || args[0] === 'resume' ? `queues ${args[0]}` : 'queues', io, async () => {
    const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' } }, QUEUES_USAGE);
    if (values.help) {
      writeLine(io.out, QUEUES_USAGE);
      return 0;
    }
    const [action, ...rest] = positionals;
    if (action === 'pause' || action === 'resume') {
      const [name] = expectPositionals(rest, ['NAME'], QUEUES_USAGE);
      const { body } = await clientFor(values.url, io).post<QueueView>(`/queues/${encodeURIComponent(name)}/${action}`);
      if (values.json) writeLine(io.out, JSON.stringify(body, null, 2));
      else writeLine(io.out, body.paused ? `${name} paused: no new task starts until workyard queues resume ${name}` : `${name} resumed`);
      return 0;
    }
    if (action !== undefined) throw new CliError(`unknown command ${action}\n\n${QUEUES_USAGE}`, 2);
    const { body } = await clientFor(values.url, io).get<{ queues: QueueView[] }>('/queues');
    writeLine(io.out, values.json ? JSON.stringify(body, null, 2) : queuesTable(body.queues));
    return 0;
  });
}

function queuesTable(queues: QueueView[]): string {
  if (queues.length === 0) return 'no queues yet: no task has been queued';
  const count = (value: number) => String(value);
  const right = (header: string) => ({ header, align: 'right' as const });
  return formatTable(
    [{ header: 'NAME' }, right('QUEUED'), right('DELAYED'), right('ACTIVE'), right('COMPLETED'), right('FAILED'), { header: 'PAUSED' }, right('OLDEST WAITING'), right('WAIT P50/P95'), right('PER MIN')],
    queues.map((queue) => [
      queue.name,
      count(queue.counts.queued),
      count(queue.counts.delayed),
      count(queue.counts.active),
      count(queue.counts.completed),
      count(queue.counts.failed),
      queue.paused ? 'paused' : 'no',
      formatDuration(queue.oldest_waiting_ms),
      queue.wait_ms ? `${formatDuration(queue.wait_ms.p50)} / ${formatDuration(queue.wait_ms.p95)}` : '-',
      queue.completions_per_minute.toFixed(1),
    ]),
  );
}
