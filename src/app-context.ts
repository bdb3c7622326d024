// What a module is given and what it gives back. Modules see infrastructure only through these
// interfaces; drivers are chosen once, in infra/index.ts, from the configuration.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import type { Infra } from './infra/index.js';
import type { MigrationSet } from './infra/db/migrations.js';
import type { JobQueue } from './infra/queue/contract.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface AppContext extends Infra {
  config: Config;
  shape: 'embedded' | 'scaled';
  log: FastifyBaseLogger;
  metrics: Registry;
  /** preHandler for admin and destructive routes: needs the API key when one is configured */
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
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
