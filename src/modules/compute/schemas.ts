// compute's HTTP schemas: they validate requests and describe the routes in /docs.
import { Type } from 'typebox';
import { TaskOptionFields } from '../../http/task-options.js';

export const MAX_NUMBERS = 100_000;
export const MAX_DELAY_MS = 60_000;
/** 100,000 numbers written out in full (`-1.2345678901234567e-123,` is 25 bytes) fit with room to spare. */
export const SUM_BODY_LIMIT = 4 * 1024 * 1024;

// Grouped by hand: toLocaleString would read ICU's locale data at start, megabytes of RSS for a comma.
const MAX_NUMBERS_WRITTEN = String(MAX_NUMBERS).replace(/\B(?=(\d{3})+$)/g, ',');

const numberList = (description: string) =>
  Type.Array(Type.Number(), { minItems: 1, maxItems: MAX_NUMBERS, description, examples: [[1, 2.5, -3]] });

const sumFields = {
  numbers: Type.Optional(numberList(`1 to ${MAX_NUMBERS_WRITTEN} finite numbers to add`)),
  args: Type.Optional(numberList('another name for `numbers` (what the original service took); send one of the two, not both')),
  delay_ms: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_DELAY_MS, default: 0, description: 'the worker waits this long before adding, to simulate heavy work', examples: [0, 1000] }),
  ),
};

export const SumBody = Type.Object(sumFields, {
  additionalProperties: false,
  examples: [{ numbers: [1, 2.5, -3], delay_ms: 0 }, { numbers: [1e16, 1, -1e16] }, { args: [1, 2, 3] }],
});

/** /async/post_task: a sum, and when and how its task runs (a sync sum waits for its task, so it takes none of these). */
export const AsyncSumBody = Type.Object({ ...sumFields, ...TaskOptionFields }, {
  additionalProperties: false,
  examples: [{ numbers: [1, 2.5, -3], delay_ms: 0 }, { numbers: [1, 2], run_in_ms: 60_000, priority: 1 }, { args: [1, 2, 3], key: 'nightly', key_mode: 'replace', timeout_ms: 5_000 }],
});

/** The data a schedule of compute.sum gives each task (the sum fields of /async/post_task). */
export const SumScheduleData = Type.Object(sumFields, { additionalProperties: false });

export const SUMMATION_NOTE =
  'The sum is computed by a worker through the job queue, with Neumaier\'s compensated summation (Kahan summation improved ' +
  'for terms larger than the running sum): the rounding error of every addition is kept in a second accumulator and added ' +
  'back at the end, so `[1e16, 1, -1e16]` gives `1` where plain left-to-right addition gives `0`, and ten times `0.1` gives ' +
  'exactly `1`. The result is within about two roundings of the exact sum, whatever the count and order of the numbers. ' +
  'A sum whose exact value is beyond the range of a double (±1.797e308) fails with an error. ' +
  '`args` is accepted as another name for `numbers` (one of the two). `delay_ms` (0–60,000) makes the worker wait that ' +
  'long first. Bodies must be `application/json` (anything else is a 415); NaN and Infinity are refused, naming the field.';

export const SyncSumReply = Type.Object(
  { result: Type.Number(), task_id: Type.String({ description: 'the task id, also readable at /async/get_task_result/{task_id}' }) },
  { examples: [{ result: 0.5, task_id: '0b8a3c7e-4f7e-4d43-9d7c-2f1f7f4c1a52' }] },
);

export const SessionReply = Type.Object(
  { session_id: Type.String({ description: 'the task id to read the result with' }) },
  { examples: [{ session_id: '0b8a3c7e-4f7e-4d43-9d7c-2f1f7f4c1a52' }] },
);

const sessionId = Type.String({ minLength: 1, maxLength: 200, description: 'the id /async/post_task (or /sync/sum, as task_id) answered with' });
export const SessionQuery = Type.Object({ session_id: sessionId });
export const SessionParams = Type.Object({ session_id: sessionId });

export const TaskResultReply = Type.Object(
  {
    session_id: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')], {
      description: 'pending: queued, not started; running: a worker has it; done: `result` holds the sum; failed: `error` says why',
    }),
    result: Type.Union([Type.Number(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  {
    examples: [
      { session_id: '0b8a3c7e-4f7e-4d43-9d7c-2f1f7f4c1a52', status: 'done', result: 0.5, error: null },
      { session_id: '0b8a3c7e-4f7e-4d43-9d7c-2f1f7f4c1a52', status: 'running', result: null, error: null },
    ],
  },
);

