// The two commands that stay with a task until it ends, over its event stream
// (GET /tasks/{id}/events): `tasks logs --follow` and `tasks watch` with its progress bar.
import cliProgress from 'cli-progress';
import { type ApiClient, CliError, type ServerEvent } from './api-client.js';
import { type CliIo, untilInterrupted, writeLine } from './command-line.js';
import { FINAL_TASK_STATES, type LogLine, type TaskView, describeProgress } from './task-view.js';

const taskPath = (id: string) => `/tasks/${encodeURIComponent(id)}`;
/** A line as printed, and as compared: `at` the same RFC 3339 whether it came as one or as epoch ms. */
function logText(line: LogLine): string {
  const at = typeof line.at === 'number' ? line.at : Date.parse(line.at);
  return `${Number.isFinite(at) ? new Date(at).toISOString() : String(line.at)}  ${line.message}`;
}

interface StreamEvent {
  type?: string;
  progress?: unknown;
  error?: string;
  willRetry?: boolean;
  line?: LogLine;
}

/**
 * Prints the task's logged lines; with follow, then every new one until the task ends. The stream
 * is opened before the lines are read, so that none logged in between is lost; a line both read
 * and streamed is printed once.
 */
export async function followLogs(client: ApiClient, id: string, follow: boolean, io: CliIo): Promise<number> {
  if (!follow) {
    const { body } = await client.get<{ logs: LogLine[] }>(`${taskPath(id)}/logs`);
    for (const line of body.logs) writeLine(io.out, logText(line));
    return 0;
  }
  const controller = new AbortController();
  return untilInterrupted(controller, async () => {
    // Lines streamed before the read answered wait here; `printed` counts the read's lines, so
    // that their streamed copies are dropped.
    let pending: LogLine[] | null = [];
    const printed = new Map<string, number>();
    const print = (line: LogLine) => {
      const key = logText(line);
      const seen = printed.get(key) ?? 0;
      if (seen > 0) printed.set(key, seen - 1);
      else writeLine(io.out, key);
    };
    let subscribed!: () => void;
    const opened = new Promise<void>((resolve) => (subscribed = resolve));
    const streaming = client.events(
      `${taskPath(id)}/events`,
      ({ event, data }) => {
        // The server sends the task first, once it listens for the task's events.
        if (event === 'task') subscribed();
        if (event !== 'log') return;
        const line = (data as StreamEvent).line;
        if (!line) return;
        if (pending) pending.push(line);
        else print(line);
      },
      controller.signal,
    );
    await Promise.race([opened, streaming]);
    const { body } = await client.get<{ logs: LogLine[] }>(`${taskPath(id)}/logs`);
    for (const line of body.logs) {
      writeLine(io.out, logText(line));
      printed.set(logText(line), (printed.get(logText(line)) ?? 0) + 1);
    }
    const early = pending;
    pending = null;
    for (const line of early) print(line);
    await streaming;
    return 0;
  });
}

/**
 * A progress bar (on stderr) until the task ends, with the lines it logs above it; the outcome on
 * stdout. Exit code 0 when it completed, 1 when it failed or was cancelled.
 */
export async function watchTask(client: ApiClient, id: string, io: CliIo): Promise<number> {
  const bars = new cliProgress.MultiBar(
    {
      format: '{bar} {state} {numbers}',
      stream: io.err,
      hideCursor: true,
      // Piped into a log, the bar still says how far the task got: a line every 2 s.
      noTTYOutput: true,
      notTTYSchedule: 2_000,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  // Drawn once the stream answers: a task not found leaves no empty bar behind its error.
  let drawn: cliProgress.SingleBar | null = null;
  const barOf = () => (drawn ??= bars.create(100, 0, { state, numbers: '' }));
  // MultiBar prints logged lines at its next redraw, and stop() does not redraw: one is owed.
  let linesOwed = false;
  bars.on('redraw-post', () => (linesOwed = false));
  const logAbove = (text: string) => {
    linesOwed = true;
    bars.log(`${text}\n`);
  };
  let latest: TaskView | null = null;
  let state = 'connecting';
  let value = 0;
  const show = (progress: unknown) => {
    const bar = barOf();
    const described = describeProgress(progress);
    if (described.total !== null) bar.setTotal(described.total);
    value = described.value ?? value;
    bar.update(value, { state, numbers: described.text });
  };
  const onEvent = ({ event, data }: ServerEvent) => {
    const payload = data as StreamEvent;
    if (event === 'task') {
      latest = data as TaskView;
      state = latest.state;
      show(latest.progress);
    } else if (event === 'progress') {
      // Only a running task reports progress (its `active` event may have gone before the stream opened).
      state = 'active';
      show(payload.progress);
    } else if (event === 'log' && payload.line) {
      logAbove(logText(payload.line));
    } else if (event === 'failed' && payload.willRetry) {
      logAbove(`attempt failed, retrying: ${payload.error ?? ''}`);
      state = 'retrying';
      barOf().update({ state });
    } else if (event === 'active' || event === 'queued') {
      state = event;
      barOf().update({ state });
    }
  };
  const controller = new AbortController();
  let finished = false;
  try {
    return await untilInterrupted(controller, async () => {
      await client.events(`${taskPath(id)}/events`, onEvent, controller.signal);
      if (controller.signal.aborted) return 130;
      let final = latest as TaskView | null;
      // The stream ends with the task's final view; a stream cut short (the server stopping) is
      // checked once more before the watch gives up.
      if (!final || !FINAL_TASK_STATES.has(final.state)) final = (await client.get<TaskView>(taskPath(id))).body;
      if (!FINAL_TASK_STATES.has(final.state)) throw new CliError(`the event stream ended while the task was ${final.state}; watch it again`);
      state = final.state;
      // A task that reported a percentage, or nothing, is at 100% once completed.
      show(final.state === 'completed' && (typeof final.progress === 'number' || final.progress === null) ? 100 : final.progress);
      if (final.state === 'completed') barOf().update(barOf().getTotal());
      if (linesOwed) bars.update();
      bars.stop();
      finished = true;
      if (final.state === 'completed') writeLine(io.out, `task ${id} completed: ${JSON.stringify(final.result)}`);
      else if (final.state === 'failed') writeLine(io.out, `task ${id} failed: ${final.error ?? 'no error recorded'}`);
      else writeLine(io.out, `task ${id} cancelled`);
      return final.state === 'completed' ? 0 : 1;
    });
  } finally {
    if (!finished && drawn) bars.stop();
  }
}
