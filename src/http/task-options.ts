// When and how a task runs, as every route that creates one takes it: one schema fragment (spread
// into each route's body or query schema, so /docs shows the same fields everywhere) and one
// mapping to the queue's EnqueueOptions. The routes' own fields keep their meaning (compute's
// delay_ms is how long the work takes, not when it starts).
import { type Static, Type } from 'typebox';
import { validationError } from '../errors.js';
import { type EnqueueOptions, KEY_MODES, type KeyMode, PRIORITY_DEFAULT, PRIORITY_FIRST, PRIORITY_LAST } from '../infra/queue/contract.js';

/** A task starts at most a year from now: further is more likely a unit mistake than a plan. */
export const MAX_RUN_IN_MS = 365 * 24 * 3_600_000;
/** A run may be given up to a day. */
export const MAX_TIMEOUT_MS = 24 * 3_600_000;
export const MAX_KEY_LENGTH = 256;

export const TaskOptionFields = {
  run_at: Type.Optional(
    Type.String({ format: 'date-time', description: 'optional: do not start before this time (RFC 3339, with its offset); a time past is due at once. Not with run_in_ms.', examples: ['2030-01-01T09:00:00Z'] }),
  ),
  run_in_ms: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_RUN_IN_MS, description: 'optional: do not start before this many milliseconds from now (default 0). Not with run_at.' }),
  ),
  priority: Type.Optional(
    Type.Integer({ minimum: PRIORITY_FIRST, maximum: PRIORITY_LAST, description: `optional: ${PRIORITY_FIRST} runs first, ${PRIORITY_LAST} last (default ${PRIORITY_DEFAULT}); first come, first served within a priority` }),
  ),
  timeout_ms: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS, description: 'optional: a run taking longer fails with a `timeout: …` error (retried while attempts remain); default: no timeout' }),
  ),
  key: Type.Optional(
    Type.String({ minLength: 1, maxLength: MAX_KEY_LENGTH, description: 'optional deduplication key: while a task of this kind holds it, key_mode says what a new one does' }),
  ),
  key_mode: Type.Optional(
    Type.Unsafe<KeyMode>({
      type: 'string',
      enum: [...KEY_MODES],
      description:
        'with key (default keep): keep answers with the task that holds the key; replace gives a task not yet started this one\'s data, time and priority; ' +
        'debounce gives it this one\'s data and moves its start to now + run_in_ms (or run_at), so a burst runs once with the last data',
    }),
  ),
};

export const TaskOptionsSchema = Type.Object(TaskOptionFields);
export type TaskOptionsInput = Static<typeof TaskOptionsSchema>;

/** The names of the fragment's fields, for routes that pick them out of a body of their own. */
export const TASK_OPTION_NAMES = Object.keys(TaskOptionFields) as (keyof TaskOptionsInput)[];

/** The options a request asked for, checked across fields (each field alone is checked by its schema); 400 naming the field. */
export function enqueueOptionsOf(input: TaskOptionsInput): EnqueueOptions {
  const options: EnqueueOptions = {};
  if (input.run_at !== undefined && input.run_in_ms !== undefined) throw validationError('run_in_ms', 'run_in_ms: give run_at or run_in_ms, not both');
  if (input.run_at !== undefined) {
    const runAt = Date.parse(input.run_at);
    // The schema's format check has passed, but a date such as 2030-02-30 may still not be a time.
    if (!Number.isFinite(runAt)) throw validationError('run_at', 'run_at: must be an RFC 3339 date-time, e.g. 2030-01-01T09:00:00Z');
    options.runAt = runAt;
  }
  if (input.run_in_ms !== undefined) options.delayMs = input.run_in_ms;
  if (input.priority !== undefined) options.priority = input.priority;
  if (input.timeout_ms !== undefined) options.timeoutMs = input.timeout_ms;
  if (input.key_mode !== undefined && input.key === undefined) throw validationError('key_mode', 'key_mode: needs a key');
  if (input.key !== undefined) {
    options.key = input.key;
    options.keyMode = input.key_mode ?? 'keep';
  }
  return options;
}

/** The task options out of a body that also carries the route's own fields; the rest is returned apart. */
export function splitTaskOptions<Body extends object>(body: Body): { options: EnqueueOptions; rest: Omit<Body, keyof TaskOptionsInput> } {
  const rest = { ...body } as Record<string, unknown>;
  for (const name of TASK_OPTION_NAMES) delete rest[name];
  return { options: enqueueOptionsOf(body as TaskOptionsInput), rest: rest as Omit<Body, keyof TaskOptionsInput> };
}
