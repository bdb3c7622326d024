// What a module is given and what it gives back. Modules see infrastructure only through these
// interfaces; drivers are chosen once, in infra/index.ts, from the configuration.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import type { Infra } from './infra/index.js';
import type { MigrationSet } from './infra/db/migrations.js';
import type { JobQueue, ScheduleSpec } from './infra/queue/contract.js';
import type { RequestPressure } from './infra/request-pressure.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface AppContext extends Infra {
  config: Config;
  shape: 'embedded' | 'scaled';
  log: FastifyBaseLogger;
  metrics: Registry;
  /** preHandler for admin and destructive routes: needs the API key when one is configured */
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** the jobs every module of this app lets admins schedule, by job name */
  schedulableJobs: ReadonlyMap<string, SchedulableJob>;
  /** work that can wait (webhook deliveries) asks it for a turn: it yields while requests fill the event loop */
  requestPressure: RequestPressure;
}

/**
 * A job a module lets admins run on a schedule (POST /schedules). Only these: a job whose data
 * points at rows a route created first (a harvest task, a sum record) cannot simply be fired
 * again, so each module says which of its jobs can, and what data a schedule gives them.
 */
export interface SchedulableJob<Data = any> {
  /** the job name, as the module's handler is registered */
  name: string;
  /** what one run does, for /docs and the 400 that lists the names */
  summary: string;
  /** the schedule's `job.data`, checked against this schema (400 naming `job.data.<field>`) */
  data: TSchema;
  /**
   * The checked data as each fired job gets it, with the options it is enqueued with (default:
   * the data as given, no options). May throw a validation AppError naming a field of the data.
   */
  prepare?(data: Data, request: FastifyRequest): { data: unknown; options?: ScheduleSpec['job']['options'] };
}

/**
 * A module: its name, its tables, and how to make one instance of it for one app. Everything the
 * module keeps (stores, services, timers, clients) lives in that instance, so two apps in one
 * process (tests) never share or close each other's state.
 */
export interface WorkyardModule<Instance extends ModuleInstance = ModuleInstance> {
  name: string;
  /** the module's tables, run on start and by `workyard migrate` */
  migrations?: MigrationSet;
  /** the module's jobs that POST /schedules may schedule */
  schedulable?: SchedulableJob[];
  /** called once per app, before anything is registered */
  create(ctx: AppContext): Instance;
}

/** One module in one app. buildWorkyard calls what applies to the process, then close() on shutdown. */
export interface ModuleInstance {
  /**
   * adds hooks to the root instance, which see every request the app handles (every module's
   * routes, 404s, docs): request counting and the like. Runs in API processes, before any plugin.
   */
  rootHooks?(app: App): void;
  /** registers the module's HTTP surface (encapsulated: it sees only what it registers) */
  routes?(app: App): Promise<void> | void;
  /** registers the module's job handlers; runs in every process that runs workers */
  jobs?(queue: JobQueue): void;
  /** runs once on shutdown, after the server stopped taking requests; instances close in reverse order */
  close?(): Promise<void>;
}
