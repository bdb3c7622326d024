// Schedules in Redis, beside the BullMQ driver's other keys of ours (`<prefix>:_wy:`, see
// bullmq-keys.ts): a hash per schedule and a set of their ids. Saving and recording a run are
// scripts, so each is atomic across processes.
import type { Redis } from 'ioredis';
import { loadLua } from '../../redis/lua.js';
import { repliesOf } from '../bullmq-keys.js';
import type { ScheduleSpecRow, ScheduleStore, StoredSchedule } from './schedule-rules.js';

const SAVE_LUA = loadLua(import.meta.url, 'redis-schedule-save.lua');
const RUN_LUA = loadLua(import.meta.url, 'redis-schedule-run.lua');

type RedisWithSchedules = Redis & {
  workyardScheduleSave?(...args: (string | number)[]): Promise<string[]>;
  workyardScheduleRun?(...args: (string | number)[]): Promise<number>;
};

function fromHash(id: string, hash: Record<string, string>): StoredSchedule | null {
  if (!hash.cron) return null;
  return {
    id,
    cron: hash.cron,
    timezone: hash.timezone!,
    jobName: hash.jobName!,
    jobData: hash.jobData!,
    jobOptions: hash.jobOptions!,
    revision: Number(hash.revision),
    specAt: Number(hash.specAt),
    createdAt: Number(hash.createdAt),
    lastRunAt: hash.lastRunAt ? Number(hash.lastRunAt) : null,
    lastJobId: hash.lastJobId || null,
    fired: Number(hash.fired ?? 0),
  };
}

export class RedisScheduleStore implements ScheduleStore {
  private readonly redis: RedisWithSchedules;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** every call goes through it: the driver's deadline and first-connection wait */
    private readonly call: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {
    this.redis = redis;
    // ioredis sends a script's text once, then its SHA.
    if (!this.redis.workyardScheduleSave) this.redis.defineCommand('workyardScheduleSave', { numberOfKeys: 2, lua: SAVE_LUA });
    if (!this.redis.workyardScheduleRun) this.redis.defineCommand('workyardScheduleRun', { numberOfKeys: 1, lua: RUN_LUA });
  }

  private get ids(): string {
    return `${this.prefix}:_wy:schedules`;
  }

  private scheduleKey(id: string): string {
    return `${this.prefix}:_wy:schedule:${id}`;
  }

  save(spec: ScheduleSpecRow): Promise<StoredSchedule> {
    return this.call(async () => {
      const flat = await this.redis.workyardScheduleSave!(this.scheduleKey(spec.id), this.ids, spec.id, spec.cron, spec.timezone, spec.jobName, spec.jobData, spec.jobOptions, spec.specAt);
      const hash: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
      return fromHash(spec.id, hash)!;
    });
  }

  remove(id: string): Promise<boolean> {
    return this.call(async () => {
      const [deleted] = await repliesOf(this.redis.multi().del(this.scheduleKey(id)).srem(this.ids, id));
      return deleted === 1;
    });
  }

  list(): Promise<StoredSchedule[]> {
    return this.call(async () => {
      const ids = await this.redis.smembers(this.ids);
      if (!ids.length) return [];
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.scheduleKey(id));
      const hashes = (await repliesOf(pipeline)) as Record<string, string>[];
      return ids.flatMap((id, i) => fromHash(id, hashes[i]!) ?? []);
    });
  }

  get(id: string): Promise<StoredSchedule | null> {
    return this.call(async () => fromHash(id, await this.redis.hgetall(this.scheduleKey(id))));
  }

  recordRun(id: string, revision: number, previous: number | null, dueAt: number, jobId: string): Promise<boolean> {
    return this.call(async () => (await this.redis.workyardScheduleRun!(this.scheduleKey(id), revision, previous === null ? '' : previous, dueAt, jobId)) === 1);
  }
}
