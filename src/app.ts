// Builds Workyard from its parts: infrastructure from the config, then each module's tables,
// routes and job handlers. `start` (API + workers), `serve` (API) and `worker` all come through here.
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { App, AppContext, ModuleInstance, WorkyardModule } from './app-context.js';
import { type Config, shapeOf } from './config.js';
import { ErrorSchema } from './errors.js';
import { adminGuard } from './http/auth.js';
import { parseJsonSuffixTypes, refuseUndeclaredBodyTypes } from './http/body-types.js';
import { clientErrorHandler, frameworkErrors } from './http/client-errors.js';
import { errorHandler, notFoundHandler } from './http/error-handler.js';
import { createMetrics, instrumentHttp, instrumentQueue, instrumentRequestPressure } from './http/metrics.js';
import { opsRoutes } from './http/ops-routes.js';
import { securityPlugin } from './http/security.js';
import { redirectOtherSlashForm } from './http/trailing-slash.js';
import { LazySchemaCompilers } from './http/lazy-schemas.js';
import { migrateToLatest } from './infra/db/migrations.js';
import { type InfraOptions, createInfra, infraMigrations } from './infra/index.js';
import { RequestPressure } from './infra/request-pressure.js';
import { createLogger } from './logger.js';
import { modules as allModules } from './modules/index.js';

export interface BuildOptions {
  /** serve HTTP (API) */
  api?: boolean;
  /** run job handlers in this process */
  worker?: boolean;
  infra?: InfraOptions;
  logger?: FastifyBaseLogger;
  modules?: WorkyardModule[];
  /** how work that can wait yields to requests (tests drive one of their own) */
  requestPressure?: RequestPressure;
}

export interface Workyard {
  app: App;
  ctx: AppContext;
  /** listens (API) and starts the workers; resolves with the address when listening */
  start(): Promise<string | null>;
  /** graceful: stop taking requests, let active jobs finish (up to the shutdown timeout), close */
  close(): Promise<void>;
  /** this app's instance of a module it runs (tests reach a module's state through it) */
  instanceOf<Instance extends ModuleInstance>(module: WorkyardModule<Instance>): Instance;
  /**
   * Compiles now every route schema not compiled yet (each compiles with its route's first request
   * otherwise: see http/lazy-schemas.ts); how many. Throws naming the route of one that cannot.
   */
  compileSchemas(): Promise<number>;
}

const VERSION = '0.1.0';

export async function buildWorkyard(config: Config, options: BuildOptions = {}): Promise<Workyard> {
  const api = options.api ?? true;
  const worker = options.worker ?? true;
  const modules = options.modules ?? allModules;
  const log = options.logger ?? createLogger(config.logLevel);
  const infra = await createInfra(config, log, options.infra);
  try {
    await migrateToLatest(infra.database, [...infraMigrations, ...modules.flatMap((m) => (m.migrations ? [m.migrations] : []))]);
  } catch (error) {
    await infra.close(0);
    throw error;
  }

  const shape = shapeOf(config);
  const metrics = createMetrics({ shape, queue: infra.drivers.queue, database: infra.drivers.database });
  const queue = instrumentQueue(infra.queue, metrics, config.dependencyTimeoutMs);
  const schedulableJobs = new Map(modules.flatMap((module) => module.schedulable ?? []).map((job) => [job.name, job]));
  const ctx: AppContext = { ...infra, queue, config, shape, log, metrics, requireAdmin: adminGuard(config.apiKey), schedulableJobs, requestPressure: options.requestPressure ?? new RequestPressure() };

  const schemas = new LazySchemaCompilers();
  const app = Fastify({
    schemaController: { compilersFactory: { buildSerializer: schemas.buildSerializer } },
    loggerInstance: log,
    // One log line per request would cost more than many requests take; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Long waits (sync compute, SSE) must not be cut by the server's own timeouts.
    requestTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 2048 },
    // Malformed HTTP and unroutable URLs get the standard error shape too.
    clientErrorHandler,
    frameworkErrors,
    // Node would answer a missing Host with an empty 400; security.ts answers it in the standard shape.
    http: { requireHostHeader: false },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  // the server's own event, not a Fastify hook: one counter bump a request
  app.server.on('request', ctx.requestPressure.requestBegun);
  app.setValidatorCompiler(schemas.validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addSchema(ErrorSchema);
  const instances = new Map<WorkyardModule, ModuleInstance>();
  // Reverse order of creation: a module's close may still use what an earlier one holds.
  const closeInstances = async () => {
    for (const [module, instance] of [...instances].reverse()) {
      await instance.close?.().catch((error) => log.warn({ err: error, module: module.name }, 'module close failed'));
    }
    instances.clear();
  };
  try {
    for (const module of modules) instances.set(module, module.create(ctx));
    // Before any plugin loads, so that these hooks apply to every route, the 404 handler included.
    if (api) for (const instance of instances.values()) instance.rootHooks?.(app);
    redirectOtherSlashForm(app);
    // Before any route is added, so that every route's body types are checked by the one rule.
    refuseUndeclaredBodyTypes(app);
    parseJsonSuffixTypes(app);
    await app.register(securityPlugin, { config });
    await app.register(fastifySwagger, {
      openapi: {
        info: { title: 'Workyard', version: VERSION, description: 'Background work behind a web API' },
        components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      },
      // Shared schemas appear under their own $id (WorkyardError), not def-0.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: false });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    instrumentHttp(app, metrics);
    instrumentRequestPressure(ctx.requestPressure, metrics);
    opsRoutes(app, ctx);
    // A worker-only process serves just the operations routes (when given a port), for probes and metrics.
    if (api) {
      for (const instance of instances.values()) {
        if (instance.routes) await app.register(async (scope) => instance.routes!(scope as App));
      }
    }
    if (worker) for (const instance of instances.values()) instance.jobs?.(queue);
  } catch (error) {
    // A module may refuse to start (a dependency it cannot use safely): leave nothing open.
    await closeInstances();
    await infra.close(0);
    throw error;
  }

  let closing: Promise<void> | null = null;
  return {
    app,
    ctx,
    async start() {
      let address: string | null = null;
      if (api) address = await app.listen({ port: config.port, host: config.host });
      else if (worker && config.workerPort !== undefined) address = await app.listen({ port: config.workerPort, host: config.host });
      else await app.ready();
      if (worker) await queue.startWorkers();
      return address;
    },
    close() {
      closing ??= (async () => {
        await app.close();
        // work waiting for a turn starts now: the queue's grace period is what bounds it
        ctx.requestPressure.close();
        await closeInstances();
        await infra.close(config.shutdownTimeoutMs);
      })();
      return closing;
    },
    async compileSchemas() {
      // the serializers are made as the routes are readied
      await app.ready();
      return schemas.compileAll();
    },
    instanceOf<Instance extends ModuleInstance>(module: WorkyardModule<Instance>): Instance {
      const instance = instances.get(module);
      if (!instance) throw new Error(`module ${module.name} does not run in this app`);
      return instance as Instance;
    },
  };
}

export { VERSION };
