#!/usr/bin/env -S node --max-semi-space-size=8
// The workyard command: start | serve | worker | migrate, module commands such as traffic, and the
// operator's tasks and queues commands.
import { readFileSync } from 'node:fs';
import type { Workyard } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { type Tracing, startTracing } from './infra/telemetry/index.js';
import { createLogger } from './logger.js';
import { StartUpError, checkDataDir, listenProblem } from './start-up.js';
import { releaseStartUpMemory } from './start-up-memory.js';

const USAGE = `usage: workyard <command>   (workyard --version: the version)

  start     API and workers in one process (what npm start runs)
  serve     API only
  worker    workers only
  migrate   create or update the database tables, then exit
  traffic   N [--base-url URL]: send N test GET requests to a running Workyard (loopback only)
  tasks     list|show|retry|cancel|logs|watch: a running Workyard's tasks (workyard tasks --help)
  queues    [pause|resume NAME]: per job name counts and wait times; hold or release a name's tasks

Configuration comes from WORKYARD_* environment variables (see the README). tasks and queues talk
to a running server: --url, else WORKYARD_URL, else http://127.0.0.1:$WORKYARD_PORT; the key from
WORKYARD_API_KEY.`;

type Command = (args: string[]) => Promise<void>;

/**
 * A signal repeated this soon is the same request delivered twice: under `npm start`, a Ctrl-C
 * reaches the server from the terminal and again from npm, which passes signals on to its script.
 */
const REPEATED_SIGNAL_MS = 1_000;

/**
 * The app is imported only now: OpenTelemetry (when OTEL_* asks for it) patches http, pg, ioredis
 * and the AWS SDK as they are first imported, so its hook must be in place before them.
 */
async function loadApp() {
  return import('./app.js');
}

/** Sends the spans not yet exported; a collector that is away does not hold the exit up. */
async function stopTracing(tracing: Tracing | null, log: ReturnType<typeof createLogger>): Promise<void> {
  await tracing?.shutdown().catch((error: unknown) => log.warn({ err: error }, 'exporting the last spans failed'));
}

async function runService(api: boolean, worker: boolean): Promise<void> {
  const config = loadConfig();
  const tracing = await startTracing(config.tracing);
  const log = createLogger(config.logLevel);
  // A cause a setting can fix is one line for the person starting it; the trace is for debugging.
  const explained = (error: unknown): unknown => {
    const problem = error instanceof StartUpError ? error.message : listenProblem(error, config, !api);
    if (!problem) return error;
    log.debug({ err: error instanceof StartUpError ? (error.cause ?? error) : error }, 'start-up failed');
    return new StartUpError(problem, { cause: error });
  };
  let workyard: Workyard;
  try {
    checkDataDir(config);
    const { buildWorkyard } = await loadApp();
    workyard = await buildWorkyard(config, { api, worker, logger: log });
  } catch (error) {
    throw explained(error);
  }
  let stoppingSince: number | null = null;
  const stop = (signal: string) => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal, graceMs: config.shutdownTimeoutMs }, 'shutting down');
    workyard.close().then(
      async () => {
        await stopTracing(tracing, log);
        log.info({ signal }, 'Workyard stopped');
        process.exit(0);
      },
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  let address: string | null;
  try {
    // routes built, nothing listening yet: what start-up left behind goes before any request comes
    await workyard.app.ready();
    const pauseMs = releaseStartUpMemory();
    log.debug({ pauseMs }, pauseMs === null ? 'start-up memory kept: this V8 has no memory-reducing collection' : 'start-up memory released');
    address = await workyard.start();
  } catch (error) {
    throw explained(error);
  }
  const status = { address, shape: workyard.ctx.shape, drivers: workyard.ctx.drivers, api, worker };
  if (address && api) {
    // The first thing a person reads after npm start: where to go.
    const key = config.apiKey ? ' (add ?key=<WORKYARD_API_KEY> once)' : '';
    log.info({ ...status, docs: `${address}/docs`, dashboard: `${address}/dashboard` }, `Workyard listening on ${address} · API docs: ${address}/docs · dashboard: ${address}/dashboard${key}`);
  } else {
    log.info(status, address ? `Workyard worker running; health and metrics on ${address}` : 'Workyard worker running');
  }
}

const commands: Record<string, Command> = {
  start: () => runService(true, true),
  serve: () => runService(true, false),
  worker: () => runService(false, true),
  async migrate() {
    const config = loadConfig();
    const { buildWorkyard } = await loadApp();
    const workyard = await buildWorkyard(config, { api: false, worker: false, logger: createLogger(config.logLevel) });
    await workyard.close();
    console.log('migrations are up to date');
  },
  // Loaded on use: the server commands do not need the progress bar.
  traffic: async (args) => (await import('./modules/stats/traffic-cli.js')).trafficCommand(args),
  // The operator's commands are clients of a running server: they set the exit code, not throw.
  tasks: async (args) => void (process.exitCode = await (await import('./cli/tasks-cli.js')).tasksCommand(args)),
  queues: async (args) => void (process.exitCode = await (await import('./cli/queues-cli.js')).queuesCommand(args)),
};

/** The version of the package.json one level above this file: the repo's from src/, the package's from dist/. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  const [name = 'start', ...args] = argv;
  if (name === '--help' || name === '-h' || name === 'help') return void console.log(USAGE);
  if (name === '--version' || name === '-v') return void console.log(packageVersion());
  const command = commands[name];
  if (!command) {
    console.error(`unknown command: ${name}\n\n${USAGE}`);
    process.exit(2);
  }
  try {
    await command(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`workyard: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof StartUpError) {
      console.error(`workyard: cannot start: ${error.message}`);
      process.exit(1);
    }
    console.error('workyard: failed to start:', error instanceof Error ? error.stack : error);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
