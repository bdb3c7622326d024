// `workyard worker` for the exactly-once test, built as src/main.ts builds it (buildWorkyard with
// every module), with one difference: the feedback save handler can be told to hold its jobs.
// On an IPC message { hold: 'before-save' | 'after-save' }, every save that starts from then on
// (first runs only: a job that already ran once must not stall twice, which would fail it) blocks
// for good, before or after storing its row, and the process reports { held: jobId } to the test.
// The test then kills it knowing it holds claimed, unfinished jobs: no timing luck involved.
import { buildWorkyard } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { JobHandler, JobQueue } from '../../src/infra/queue/contract.js';
import { createLogger } from '../../src/logger.js';
import { FEEDBACK_SAVE_JOB } from '../../src/modules/feedback/jobs.js';
import { modules } from '../../src/modules/index.js';

export type HoldPoint = 'before-save' | 'after-save';
export type FromWorker = { ready: true } | { held: string };

let holdPoint: HoldPoint | null = null;
process.on('message', (message: { hold: HoldPoint }) => (holdPoint = message.hold));
const tell = (message: FromWorker) => process.send!(message);

async function holdForever(jobId: string): Promise<never> {
  tell({ held: jobId });
  return new Promise<never>(() => {});
}

function holdable(handler: JobHandler<any, any>): JobHandler<any, any> {
  return async (job) => {
    if (job.attempt === 1 && holdPoint === 'before-save') await holdForever(job.id);
    const result: unknown = await handler(job);
    if (job.attempt === 1 && holdPoint === 'after-save') await holdForever(job.id);
    return result;
  };
}

/** The queue as the feedback module sees it: the same, but its save handler is holdable. */
function withHoldableSaves(queue: JobQueue): JobQueue {
  return new Proxy(queue, {
    get(target, property) {
      if (property === 'process') {
        return (name: string, handler: JobHandler<any, any>, options?: object) => target.process(name, name === FEEDBACK_SAVE_JOB ? holdable(handler) : handler, options);
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const config = loadConfig();
const workyard = await buildWorkyard(config, {
  api: false,
  worker: true,
  logger: createLogger(config.logLevel),
  modules: modules.map((module) => {
    if (module.name !== 'feedback') return module;
    return {
      ...module,
      create(ctx) {
        const instance = module.create(ctx);
        return { ...instance, jobs: (queue) => instance.jobs?.(withHoldableSaves(queue)) };
      },
    };
  }),
});
await workyard.start();
tell({ ready: true });
