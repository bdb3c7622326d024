// `workyard tasks list|show|retry|cancel|logs|watch`: the operator's view of the queue's jobs,
// through a running server's task API.
import { CliError } from './api-client.js';
import { type CliIo, URL_HELP, clientFor, expectPositionals, parseCommandLine, processIo, runCommand, writeLine } from './command-line.js';
import { formatTable, formatTime, parseTimeOption, trimCell } from './table.js';
import { describeProgress, stateLabel, type TaskPage, type TaskView } from './task-view.js';
import { followLogs, watchTask } from './task-follow.js';

const USAGE = {
  list: `usage: workyard tasks list [--name N] [--state S] [--group G] [--created-after T] [--created-before T] [--limit N] [--cursor C] [--json]

  Tasks newest first, as a table (--json: the server's answer as it is).
  --state           queued, delayed, active, completed, failed or cancelled
  --created-after   an RFC 3339 time (2026-01-31T09:00:00Z) or a span before now (30m, 2h, 7d)
  --created-before  the same
  --limit           1 to 500 (default 50); the line "next: --cursor C" gives the next page
${URL_HELP}`,
  show: `usage: workyard tasks show ID [--json]

  A task's fields, its attempts (start, end, error) and its last error with its stack.
${URL_HELP}`,
  retry: `usage: workyard tasks retry ID
       workyard tasks retry --name N [--failed-after T]

  Queues a failed task again with fresh attempts (same id, its history kept); with --name, every
  failed task of that name (that failed after T: an RFC 3339 time or a span before now, 30m, 2h).
${URL_HELP}`,
  cancel: `usage: workyard tasks cancel ID

  Cancels a queued or delayed task; a running one is aborted and ends cancelled.
${URL_HELP}`,
  logs: `usage: workyard tasks logs ID [--follow]

  The lines the task logged (its last 100); --follow prints new ones until the task ends.
${URL_HELP}`,
  watch: `usage: workyard tasks watch ID

  A live progress bar until the task ends; exits 0 when it completed, 1 when it failed or was cancelled.
${URL_HELP}`,
};

export const TASKS_USAGE = `usage: workyard tasks <list|show|retry|cancel|logs|watch> …   (workyard tasks <command> --help)

  list     tasks newest first, filtered by name, state, group, creation time
  show     ID: a task with its attempts, error and stack
  retry    ID, or --name N [--failed-after T]: queue failed tasks again
  cancel   ID: cancel a waiting task, or abort a running one
  logs     ID [--follow]: the lines a task logged
  watch    ID: a live progress bar until the task ends
${URL_HELP}`;

const ERROR_WIDTH = 60;
const taskPath = (id: string) => `/tasks/${encodeURIComponent(id)}`;

const subcommands: Record<keyof typeof USAGE, (args: string[], io: CliIo) => Promise<number>> = {
  async list(args, io) {
    const { values, positionals } = parseCommandLine(
      args,
      {
        name: { type: 'string' },
        state: { type: 'string' },
        group: { type: 'string' },
        'created-after': { type: 'string' },
        'created-before': { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE.list,
    );
    if (values.help) return usage(io, USAGE.list);
    expectPositionals(positionals, [], USAGE.list);
    const client = clientFor(values.url, io);
    const { body } = await client.get<TaskPage>('/tasks', {
      name: values.name,
      state: values.state,
      group: values.group,
      created_after: values['created-after'] === undefined ? undefined : parseTimeOption(values['created-after']),
      created_before: values['created-before'] === undefined ? undefined : parseTimeOption(values['created-before']),
      limit: values.limit,
      cursor: values.cursor,
    });
    if (values.json) return done(io, JSON.stringify(body, null, 2));
    writeLine(io.out, tasksTable(body.tasks));
    if (body.next_cursor) writeLine(io.out, `next: --cursor ${body.next_cursor}`);
    return 0;
  },

  async show(args, io) {
    const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' } }, USAGE.show);
    if (values.help) return usage(io, USAGE.show);
    const [id] = expectPositionals(positionals, ['ID'], USAGE.show);
    const { body: task } = await clientFor(values.url, io).get<TaskView>(taskPath(id));
    return done(io, values.json ? JSON.stringify(task, null, 2) : showTask(task));
  },

  async retry(args, io) {
    const { values, positionals } = parseCommandLine(args, { name: { type: 'string' }, 'failed-after': { type: 'string' } }, USAGE.retry);
    if (values.help) return usage(io, USAGE.retry);
    const client = clientFor(values.url, io);
    if (values.name === undefined) {
      if (values['failed-after'] !== undefined) throw new CliError(`--failed-after goes with --name\n\n${USAGE.retry}`, 2);
      const [id] = expectPositionals(positionals, ['ID'], USAGE.retry);
      const { body: task } = await client.post<TaskView>(`${taskPath(id)}/retry`);
      return done(io, `task ${task.id} queued again (${task.state}; ${task.max_attempts} attempt${task.max_attempts === 1 ? '' : 's'})`);
    }
    if (positionals.length > 0) throw new CliError(`give an ID or --name, not both\n\n${USAGE.retry}`, 2);
    const failedAfter = values['failed-after'] === undefined ? undefined : parseTimeOption(values['failed-after']);
    const { body } = await client.post<{ retried: number }>('/tasks/retry', { name: values.name, state: 'failed', ...(failedAfter ? { failed_after: failedAfter } : {}) });
    return done(io, `retried ${body.retried} failed ${values.name} task${body.retried === 1 ? '' : 's'}`);
  },

  async cancel(args, io) {
    const { values, positionals } = parseCommandLine(args, {}, USAGE.cancel);
    if (values.help) return usage(io, USAGE.cancel);
    const [id] = expectPositionals(positionals, ['ID'], USAGE.cancel);
    const { status } = await clientFor(values.url, io).delete<TaskView>(taskPath(id));
    // 202: the task was running; its worker is told to stop, and it ends cancelled.
    return done(io, status === 202 ? `task ${id} is cancelling: it was running, and ends cancelled` : `task ${id} cancelled`);
  },

  async logs(args, io) {
    const { values, positionals } = parseCommandLine(args, { follow: { type: 'boolean', short: 'f' } }, USAGE.logs);
    if (values.help) return usage(io, USAGE.logs);
    const [id] = expectPositionals(positionals, ['ID'], USAGE.logs);
    return followLogs(clientFor(values.url, io), id, values.follow ?? false, io);
  },

  async watch(args, io) {
    const { values, positionals } = parseCommandLine(args, {}, USAGE.watch);
    if (values.help) return usage(io, USAGE.watch);
    const [id] = expectPositionals(positionals, ['ID'], USAGE.watch);
    return watchTask(clientFor(values.url, io), id, io);
  },
};

/** `workyard tasks …`; the exit code. */
export function tasksCommand(args: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') return Promise.resolve(usage(io, TASKS_USAGE));
  if (name === undefined) {
    writeLine(io.err, TASKS_USAGE);
    return Promise.resolve(2);
  }
  const subcommand = Object.hasOwn(subcommands, name) ? subcommands[name as keyof typeof subcommands] : undefined;
  if (!subcommand) {
    writeLine(io.err, `workyard tasks: unknown command ${name}\n\n${TASKS_USAGE}`);
    return Promise.resolve(2);
  }
  return runCommand(`tasks ${name}`, io, () => subcommand(rest, io));
}

function usage(io: CliIo, text: string): number {
  writeLine(io.out, text);
  return 0;
}

function done(io: CliIo, text: string): number {
  writeLine(io.out, text);
  return 0;
}

function tasksTable(tasks: TaskView[]): string {
  if (tasks.length === 0) return 'no tasks';
  return formatTable(
    [{ header: 'ID' }, { header: 'NAME' }, { header: 'STATE' }, { header: 'ATTEMPTS', align: 'right' }, { header: 'CREATED' }, { header: 'ERROR' }],
    tasks.map((task) => [task.id, task.name, stateLabel(task), `${task.attempts}/${task.max_attempts}`, formatTime(task.created_at), trimCell(task.error, ERROR_WIDTH)]),
  );
}

const json = (value: unknown) => (value === undefined ? '-' : JSON.stringify(value));

function showTask(task: TaskView): string {
  const progress = describeProgress(task.progress);
  const fields: [string, string][] = [
    ['id', task.id],
    ['name', task.name],
    ['state', stateLabel(task)],
    ['attempts', `${task.attempts} of ${task.max_attempts}`],
    ['priority', String(task.priority)],
    ['timeout', task.timeout_ms === null ? 'none' : `${task.timeout_ms} ms`],
    ...(task.group === undefined ? [] : [['group', task.group] as [string, string]]),
    ...(task.key === undefined ? [] : [['key', task.key] as [string, string]]),
    ['created', formatTime(task.created_at)],
    ['run at', formatTime(task.run_at)],
    ['started', formatTime(task.started_at)],
    ['finished', formatTime(task.finished_at)],
    ['progress', progress.text || json(task.progress)],
    ['result', json(task.result)],
    ['error', task.error ?? '-'],
  ];
  const width = Math.max(...fields.map(([label]) => label.length));
  const lines = fields.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`);
  const history = task.attempt_history ?? [];
  if (history.length > 0) {
    lines.push('', 'attempts:');
    lines.push(
      formatTable(
        [{ header: '#', align: 'right' }, { header: 'STARTED' }, { header: 'FINISHED' }, { header: 'ERROR' }],
        history.map((attempt) => [String(attempt.attempt), formatTime(attempt.started_at), formatTime(attempt.finished_at), trimCell(attempt.error, 80)]),
      ),
    );
  }
  if (task.stack) lines.push('', 'stack:', task.stack);
  return lines.join('\n');
}
